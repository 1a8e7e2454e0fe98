import Head from "next/head";

export async function getServerSideProps({ query }) {
  const nombre = typeof query.nombre === "string" && query.nombre ? query.nombre : "invitado";
  return { props: { nombre } };
}

export default function Saludo({ nombre }) {
  return (
    <>
      <Head>
        <title>Saludo</title>
      </Head>
      <h1>Hola, {nombre}</h1>
    </>
  );
}
