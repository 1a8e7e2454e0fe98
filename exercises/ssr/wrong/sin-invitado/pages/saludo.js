import Head from "next/head";

export async function getServerSideProps({ query }) {
  return { props: { nombre: query.nombre ?? "" } };
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
