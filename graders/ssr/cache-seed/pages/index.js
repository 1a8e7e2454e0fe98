// The app the platform builds once to fill the build cache every run starts from
// (taller_grader/build_cache.py): what a pages-router app compiles besides its own pages
// (React, next/head, next/link, the pages runtime). Not the exercise's solution: a
// student's program can read the cache.
import Head from "next/head";
import Link from "next/link";

export async function getServerSideProps({ query }) {
  return { props: { valor: typeof query.valor === "string" ? query.valor : "" } };
}

export default function Semilla({ valor }) {
  return (
    <>
      <Head>
        <title>Semilla</title>
      </Head>
      <p>{valor}</p>
      <Link href="/otra">otra</Link>
    </>
  );
}
