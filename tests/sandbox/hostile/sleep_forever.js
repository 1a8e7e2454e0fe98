// Never ends by itself and does nothing.
setInterval(() => {}, 1000);
