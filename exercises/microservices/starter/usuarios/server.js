const express = require("express");

const app = express();
const usuarios = { 1: "Ana", 2: "Nico", 3: "Lucía" };

// TODO: GET /usuarios/:id

app.listen(process.env.PORT || 3001);
