// Funciones flecha, archivos .jsx y el contexto completo de getServerSideProps.
import Head from "next/head";

export const getServerSideProps = async (contexto) => {
  contexto.res.setHeader("Cache-Control", "no-store");
  return { props: { ahora: new Date(Date.now()).toJSON() } };
};

const Inicio = ({ ahora }) => (
  <div>
    <Head>
      <title>Inicio · Taller</title>
    </Head>
    <time id="hora-servidor" dateTime={ahora}>
      {ahora}
    </time>
  </div>
);

export default Inicio;
