// Módulo ES: las microtareas se ejecutan antes que los nextTick (el orden sale mal).
console.log("Inicio");
setTimeout(() => console.log("Tarea asíncrona"), 0);
Promise.resolve().then(() => console.log("microtarea"));
process.nextTick(() => console.log("nextTick"));
console.log("Fin");
