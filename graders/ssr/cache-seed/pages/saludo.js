import Head from "next/head";

export async function getServerSideProps() {
  return { props: { semilla: "semilla" } };
}

export default function Saludo({ semilla }) {
  return (
    <>
      <Head>
        <title>Semilla</title>
      </Head>
      <p>{semilla}</p>
    </>
  );
}
