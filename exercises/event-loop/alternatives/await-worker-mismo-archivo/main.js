async function principal() {
  console.log("Inicio");
  setTimeout(() => console.log("Tarea asíncrona"), 0);
  process.nextTick(() => console.log("nextTick"));
  const pausa = Promise.resolve();
  console.log("Fin");
  await pausa; // lo que sigue corre como microtarea
  console.log("microtarea");
}

principal();
