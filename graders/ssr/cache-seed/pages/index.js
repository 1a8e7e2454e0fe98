// The app the platform builds once to fill the build cache every run starts from
// (taller_grader/build_cache.py). Its pages are named and import what the statement asks
// for (next/head, getServerSideProps), so that a student's build finds the same chunks
// already made; it solves nothing: a student's program can read the cache.
import Head from "next/head";

export async function getServerSideProps() {
  return { props: { semilla: "semilla" } };
}

export default function Inicio({ semilla }) {
  return (
    <>
      <Head>
        <title>Semilla</title>
      </Head>
      <main>
        <p>{semilla}</p>
      </main>
    </>
  );
}
