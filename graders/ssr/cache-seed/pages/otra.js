export default function Otra() {
  return <p>otra</p>;
}
