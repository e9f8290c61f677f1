// A small Express service: the example containerkit carries from source to a registry.
const express = require("express");

const app = express();
const port = Number(process.env.PORT || 3000);

app.get("/", (_req, res) => res.json({ service: "node-http", node: process.version }));
app.get("/healthz", (_req, res) => res.json({ ok: true }));

const server = app.listen(port, () => console.log(`listening on ${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
