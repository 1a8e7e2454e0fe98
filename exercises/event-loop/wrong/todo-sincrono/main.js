// Imprime las cinco líneas en el orden pedido... pero todas de forma síncrona.
console.log("Inicio");
console.log("Fin");
console.log("nextTick");
console.log("microtarea");
console.log("Tarea asíncrona");
