// En un módulo ES el código de primer nivel ya corre dentro de una microtarea, así que
// las microtareas que encole se ejecutan antes que los nextTick. Para respetar el orden
// se encola la microtarea desde el callback de nextTick.
console.log("Inicio");
setTimeout(() => console.log("Tarea asíncrona"), 0);
process.nextTick(() => {
  console.log("nextTick");
  queueMicrotask(() => console.log("microtarea"));
});
console.log("Fin");
