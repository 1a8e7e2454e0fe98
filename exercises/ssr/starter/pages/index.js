export async function getServerSideProps() {
  return { props: { time: new Date().toISOString() } };
}

export default function Inicio({ time }) {
  // TODO: la hora dentro de <time id="hora-servidor"> y un <title> con next/head.
  return <p>Hora del servidor: {time}</p>;
}
