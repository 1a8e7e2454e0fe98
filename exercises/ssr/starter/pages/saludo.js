export default function Saludo() {
  // TODO: getServerSideProps que lea ?nombre= y un <h1>Hola, …</h1>.
  return <h1>Hola</h1>;
}
