console.log("Inicio");
setTimeout(() => console.log("Tarea asíncrona"), 0);
console.log("Fin");
