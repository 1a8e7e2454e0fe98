console.log("Inicio");
setImmediate(() => console.log("Tarea asíncrona")); // no es un temporizador
Promise.resolve().then(() => console.log("microtarea"));
process.nextTick(() => console.log("nextTick"));
console.log("Fin");
