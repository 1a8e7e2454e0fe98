import Head from "next/head";
import { useEffect, useState } from "react";

// La hora se calcula en el navegador: el HTML que llega del servidor no la trae.
export default function Inicio() {
  const [time, setTime] = useState("");
  useEffect(() => setTime(new Date().toISOString()), []);
  return (
    <>
      <Head>
        <title>Hora del servidor</title>
      </Head>
      <main>
        <h1>Hora del servidor</h1>
        <p>
          Esta página se generó en el servidor a las <time id="hora-servidor">{time}</time>.
        </p>
      </main>
    </>
  );
}
