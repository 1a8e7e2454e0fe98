import Head from "next/head";
import { Saludo } from "../components/Saludo";

export const getServerSideProps = async ({ query: { nombre = "invitado" } }) => ({
  props: { nombre: Array.isArray(nombre) ? nombre[0] : nombre || "invitado" },
});

export default function Pagina({ nombre }) {
  return (
    <>
      <Head>
        <title>{`Saludo para ${nombre}`}</title>
      </Head>
      <Saludo nombre={nombre} />
    </>
  );
}
