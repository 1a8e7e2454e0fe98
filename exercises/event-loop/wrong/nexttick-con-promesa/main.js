// «nextTick» sale de una promesa: el orden es el pedido, el mecanismo no.
console.log("Inicio");
setTimeout(() => console.log("Tarea asíncrona"), 0);
Promise.resolve()
  .then(() => console.log("nextTick"))
  .then(() => console.log("microtarea"));
console.log("Fin");
