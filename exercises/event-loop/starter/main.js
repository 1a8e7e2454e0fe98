// El ejemplo del curso: imprime Inicio, Fin y Tarea asíncrona.
// TODO: añade las líneas «nextTick» y «microtarea», cada una desde su mecanismo,
// para que la salida sea exactamente:
//   Inicio
//   Fin
//   nextTick
//   microtarea
//   Tarea asíncrona
console.log("Inicio");
setTimeout(() => console.log("Tarea asíncrona"), 0);
console.log("Fin");
