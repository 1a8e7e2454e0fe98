export function Saludo({ nombre }) {
  return <h1>{`Hola, ${nombre}`}</h1>;
}
