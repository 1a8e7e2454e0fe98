// Cada línea sale de un mecanismo distinto del event loop.
console.log("Inicio"); // código síncrono

setTimeout(() => console.log("Tarea asíncrona"), 0); // fase de temporizadores

Promise.resolve().then(() => console.log("microtarea")); // cola de microtareas

process.nextTick(() => console.log("nextTick")); // cola de process.nextTick

console.log("Fin"); // código síncrono

// Al terminar el código síncrono, Node vacía primero la cola de nextTick, luego las
// microtareas (promesas) y solo después entra en el event loop: los temporizadores.
