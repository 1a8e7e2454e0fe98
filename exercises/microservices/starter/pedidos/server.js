const express = require("express");

const app = express();
app.use(express.json());

// TODO: POST /pedidos (preguntar a USUARIOS_URL, publicar en pedidos.creados) y GET /pedidos/:id

app.listen(process.env.PORT || 3002);
