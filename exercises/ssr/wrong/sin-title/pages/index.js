import Head from "next/head";

export async function getServerSideProps() {
  return { props: { time: new Date().toISOString() } };
}

export default function Inicio({ time }) {
  return (
    <>
      <main>
        <h1>Hora del servidor</h1>
        <p>
          Esta página se generó en el servidor a las <time id="hora-servidor">{time}</time>.
        </p>
      </main>
    </>
  );
}
