# ruff: noqa: E501 — JavaScript, written as students write it.
"""Independent solutions of one exercise (a tasks REST API), each written on its own.

They solve the same statement, so they share the vocabulary of the task (routes, status
codes, `title`), but each was written separately, in its own style: Express or
`node:http`, arrays, Maps or objects, one file or several. Top-level blocks are
separated by blank lines, so a copy can move them (see cohort.py).
"""

from __future__ import annotations

STARTER = {
    "server.js": """const express = require('express');

const app = express();
app.use(express.json());

// Escribe aquí las rutas de /tasks.

app.listen(process.env.PORT || 3000);
""",
}

REFERENCE = {
    "server.js": """const express = require('express');

const app = express();
app.use(express.json());

const tasks = new Map();
let lastId = 0;

function validTitle(value) {
  return typeof value === 'string' && value.trim().length > 0;
}

app.get('/tasks', (req, res) => {
  res.json([...tasks.values()]);
});

app.post('/tasks', (req, res) => {
  if (!validTitle(req.body.title)) {
    return res.status(400).json({ error: 'title is required' });
  }
  const task = { id: ++lastId, title: req.body.title.trim(), done: false };
  tasks.set(task.id, task);
  res.status(201).location(`/tasks/${task.id}`).json(task);
});

app.get('/tasks/:id', (req, res) => {
  const task = tasks.get(Number(req.params.id));
  if (!task) return res.status(404).json({ error: 'not found' });
  res.json(task);
});

app.delete('/tasks/:id', (req, res) => {
  if (!tasks.delete(Number(req.params.id))) {
    return res.status(404).json({ error: 'not found' });
  }
  res.status(204).end();
});

app.listen(process.env.PORT || 3000);
""",
}

INDEPENDENT: list[dict[str, str]] = [
    # 1. Express, an array and findIndex, everything inline.
    {
        "server.js": """const express = require('express');
const app = express();
app.use(express.json());

const items = [];
let counter = 1;

app.get('/tasks', function (req, res) {
  res.status(200).send(items);
});

app.post('/tasks', function (req, res) {
  const title = req.body && req.body.title;
  if (!title || typeof title != 'string') {
    res.status(400).send({ error: 'Missing title' });
    return;
  }
  const item = { id: counter, title: title, done: false };
  counter = counter + 1;
  items.push(item);
  res.setHeader('Location', '/tasks/' + item.id);
  res.status(201).send(item);
});

app.get('/tasks/:id', function (req, res) {
  const index = items.findIndex(function (t) { return t.id == req.params.id; });
  if (index === -1) {
    res.status(404).send({ error: 'No such task' });
  } else {
    res.send(items[index]);
  }
});

app.delete('/tasks/:id', function (req, res) {
  const index = items.findIndex(function (t) { return t.id == req.params.id; });
  if (index === -1) {
    return res.status(404).send({ error: 'No such task' });
  }
  items.splice(index, 1);
  res.sendStatus(204);
});

app.listen(process.env.PORT || 3000);
""",
    },
    # 2. node:http with a switch on method and a regular expression for the id.
    {
        "server.js": """const http = require('node:http');

const store = new Map();
let seq = 0;

function reply(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let raw = '';
    req.on('data', (chunk) => { raw += chunk; });
    req.on('end', () => {
      try { resolve(raw ? JSON.parse(raw) : {}); } catch (err) { reject(err); }
    });
  });
}

const server = http.createServer(async (req, res) => {
  const match = /^\\/tasks(?:\\/(\\d+))?$/.exec(req.url.split('?')[0]);
  if (!match) return reply(res, 404, { error: 'no route' });
  const id = match[1] ? parseInt(match[1], 10) : null;
  switch (req.method) {
    case 'GET':
      if (id === null) return reply(res, 200, Array.from(store.values()));
      return store.has(id) ? reply(res, 200, store.get(id)) : reply(res, 404, { error: 'not found' });
    case 'POST': {
      let body;
      try { body = await readJson(req); } catch { return reply(res, 400, { error: 'invalid json' }); }
      if (typeof body.title !== 'string' || body.title === '') return reply(res, 400, { error: 'title' });
      seq += 1;
      const task = { id: seq, title: body.title, done: false };
      store.set(seq, task);
      res.setHeader('Location', '/tasks/' + seq);
      return reply(res, 201, task);
    }
    case 'DELETE':
      if (id === null || !store.delete(id)) return reply(res, 404, { error: 'not found' });
      return reply(res, 204);
    default:
      return reply(res, 405, { error: 'method not allowed' });
  }
});

server.listen(Number(process.env.PORT) || 3000);
""",
    },
    # 3. Express Router in its own file, a store module with a class.
    {
        "app.js": """const express = require('express');
const tasksRouter = require('./routes/tasks');

const app = express();
app.use(express.json());
app.use('/tasks', tasksRouter);
app.use((err, req, res, next) => {
  res.status(500).json({ error: err.message });
});

app.listen(process.env.PORT ?? 3000, () => console.log('ready'));
""",
        "routes/tasks.js": """const { Router } = require('express');
const TaskStore = require('../store');

const router = Router();
const store = new TaskStore();

router.get('/', (req, res) => res.json(store.all()));

router.post('/', (req, res) => {
  const { title } = req.body ?? {};
  if (typeof title !== 'string' || !title.length) {
    return res.status(400).json({ error: 'title must be a non-empty string' });
  }
  const created = store.add(title);
  res.location(`${req.baseUrl}/${created.id}`).status(201).json(created);
});

router.get('/:id', (req, res) => {
  const found = store.find(+req.params.id);
  found ? res.json(found) : res.status(404).json({ error: 'task not found' });
});

router.delete('/:id', (req, res) => {
  store.remove(+req.params.id) ? res.status(204).end() : res.status(404).json({ error: 'task not found' });
});

module.exports = router;
""",
        "store.js": """class TaskStore {
  #rows = [];
  #next = 1;

  all() {
    return [...this.#rows];
  }

  add(title) {
    const row = { id: this.#next++, title, done: false };
    this.#rows.push(row);
    return row;
  }

  find(id) {
    return this.#rows.find((row) => row.id === id) ?? null;
  }

  remove(id) {
    const before = this.#rows.length;
    this.#rows = this.#rows.filter((row) => row.id !== id);
    return this.#rows.length < before;
  }
}

module.exports = TaskStore;
""",
    },
    # 4. Express with app.route chains and a validation middleware.
    {
        "server.js": """const express = require('express');
const app = express();

const db = { tasks: {}, next: 1 };

function requireTitle(req, res, next) {
  const t = req.body ? req.body.title : undefined;
  if (typeof t === 'string' && t.trim() !== '') return next();
  res.status(400).json({ message: 'A task needs a title' });
}

function loadTask(req, res, next) {
  const task = db.tasks[req.params.id];
  if (task === undefined) return res.status(404).json({ message: 'Unknown task' });
  req.task = task;
  next();
}

app.use(express.json());

app.route('/tasks')
  .get((req, res) => res.json(Object.values(db.tasks)))
  .post(requireTitle, (req, res) => {
    const id = db.next++;
    db.tasks[id] = { id, title: req.body.title, done: false };
    res.status(201).set('Location', '/tasks/' + id).json(db.tasks[id]);
  });

app.route('/tasks/:id')
  .get(loadTask, (req, res) => res.json(req.task))
  .delete(loadTask, (req, res) => {
    delete db.tasks[req.task.id];
    res.status(204).send();
  });

const port = process.env.PORT || 3000;
app.listen(port);
""",
    },
    # 5. node:http with a route table of patterns and handlers, async/await body.
    {
        "server.js": """import { createServer } from 'node:http';

const tasks = [];
let nextTaskId = 1;

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}');
}

const routes = [
  ['GET', /^\\/tasks$/, () => [200, tasks]],
  ['POST', /^\\/tasks$/, async (req) => {
    const input = await body(req);
    if (!input || typeof input.title !== 'string' || input.title.trim() === '') {
      return [400, { error: 'title is required' }];
    }
    const task = { id: nextTaskId++, title: input.title, done: false };
    tasks.push(task);
    return [201, task, { Location: `/tasks/${task.id}` }];
  }],
  ['GET', /^\\/tasks\\/(\\d+)$/, (req, id) => {
    const task = tasks.find((t) => t.id === Number(id));
    return task ? [200, task] : [404, { error: 'not found' }];
  }],
  ['DELETE', /^\\/tasks\\/(\\d+)$/, (req, id) => {
    const at = tasks.findIndex((t) => t.id === Number(id));
    if (at < 0) return [404, { error: 'not found' }];
    tasks.splice(at, 1);
    return [204, null];
  }],
];

createServer(async (req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;
  for (const [method, pattern, handler] of routes) {
    const m = req.method === method && pattern.exec(path);
    if (!m) continue;
    try {
      const [status, payload, headers = {}] = await handler(req, ...m.slice(1));
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      return res.end(payload === null ? undefined : JSON.stringify(payload));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: 'bad request' }));
    }
  }
  res.writeHead(404).end();
}).listen(process.env.PORT || 3000);
""",
    },
    # 6. Express, a service object with callbacks, handlers as named functions.
    {
        "index.js": """var express = require('express');
var bodyParser = express.json;

var taskService = {
  list: [],
  lastId: 0,
  create: function (title, cb) {
    if (!title) return cb(new Error('title'));
    this.lastId += 1;
    var t = { id: this.lastId, title: String(title), done: false };
    this.list.push(t);
    cb(null, t);
  },
  byId: function (id, cb) {
    for (var i = 0; i < this.list.length; i++) {
      if (this.list[i].id === id) return cb(null, this.list[i], i);
    }
    cb(null, null, -1);
  },
};

function listTasks(req, res) {
  res.json(taskService.list);
}

function createTask(req, res) {
  taskService.create(req.body.title, function (err, t) {
    if (err) return res.status(400).json({ error: 'title required' });
    res.location('/tasks/' + t.id);
    res.status(201).json(t);
  });
}

function showTask(req, res) {
  taskService.byId(parseInt(req.params.id), function (err, t) {
    if (!t) return res.status(404).json({ error: 'missing' });
    res.json(t);
  });
}

function deleteTask(req, res) {
  taskService.byId(parseInt(req.params.id), function (err, t, i) {
    if (i < 0) return res.status(404).json({ error: 'missing' });
    taskService.list.splice(i, 1);
    res.status(204).end();
  });
}

var app = express();
app.use(bodyParser());
app.get('/tasks', listTasks);
app.post('/tasks', createTask);
app.get('/tasks/:id', showTask);
app.delete('/tasks/:id', deleteTask);
app.listen(process.env.PORT || 3000);
""",
    },
    # 7. Express with a controller object and a generic not-found handler.
    {
        "server.js": """const express = require('express');

const state = { tasks: [], id: 0 };

const controller = {
  index(_req, res) {
    res.json(state.tasks);
  },
  store(req, res) {
    const { title = '' } = req.body;
    if (String(title).trim().length === 0 || typeof title !== 'string') {
      return res.status(400).json({ error: 'invalid title' });
    }
    state.id++;
    const task = { id: state.id, title, done: false };
    state.tasks = [...state.tasks, task];
    return res.status(201).header('Location', `/tasks/${state.id}`).json(task);
  },
  show(req, res, next) {
    const task = state.tasks.find(({ id }) => String(id) === req.params.id);
    return task ? res.json(task) : next();
  },
  destroy(req, res, next) {
    const rest = state.tasks.filter(({ id }) => String(id) !== req.params.id);
    if (rest.length === state.tasks.length) return next();
    state.tasks = rest;
    return res.sendStatus(204);
  },
};

const app = express()
  .use(express.json())
  .get('/tasks', controller.index)
  .post('/tasks', controller.store)
  .get('/tasks/:id', controller.show)
  .delete('/tasks/:id', controller.destroy)
  .use((req, res) => res.status(404).json({ error: 'not found' }));

app.listen(process.env.PORT || 3000);
""",
    },
    # 8. node:http, if/else chain, a plain object as the store, manual body parsing.
    {
        "main.js": """const http = require('http');
const url = require('url');

const data = {};
let count = 0;

function json(res, code, obj) {
  const text = obj == null ? '' : JSON.stringify(obj);
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(text);
}

http.createServer(function (req, res) {
  const parts = url.parse(req.url).pathname.split('/').filter(Boolean);
  if (parts[0] !== 'tasks' || parts.length > 2) {
    json(res, 404, { error: 'not found' });
  } else if (req.method === 'GET' && parts.length === 1) {
    json(res, 200, Object.keys(data).map(function (k) { return data[k]; }));
  } else if (req.method === 'GET') {
    if (data[parts[1]]) json(res, 200, data[parts[1]]);
    else json(res, 404, { error: 'not found' });
  } else if (req.method === 'POST' && parts.length === 1) {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', function (c) { text += c; });
    req.on('end', function () {
      let parsed = null;
      try { parsed = JSON.parse(text); } catch (e) { parsed = null; }
      if (!parsed || typeof parsed.title !== 'string' || !parsed.title) {
        return json(res, 400, { error: 'title required' });
      }
      count++;
      data[count] = { id: count, title: parsed.title, done: false };
      res.setHeader('Location', '/tasks/' + count);
      json(res, 201, data[count]);
    });
  } else if (req.method === 'DELETE' && parts.length === 2) {
    if (!data[parts[1]]) return json(res, 404, { error: 'not found' });
    delete data[parts[1]];
    json(res, 204, null);
  } else {
    json(res, 405, { error: 'method not allowed' });
  }
}).listen(process.env.PORT || 3000);
""",
    },
    # 9. Express, ES modules, a repository closure and async handlers with try/catch.
    {
        "server.mjs": """import express from 'express';

function createRepository() {
  const byId = new Map();
  let sequence = 100;
  return {
    async list() { return [...byId.values()]; },
    async insert(fields) {
      sequence += 1;
      const record = { id: sequence, ...fields, done: false };
      byId.set(record.id, record);
      return record;
    },
    async get(id) { return byId.get(id); },
    async remove(id) { return byId.delete(id); },
  };
}

const repo = createRepository();
const api = express.Router();

api.get('/tasks', async (req, res) => {
  res.json(await repo.list());
});

api.post('/tasks', async (req, res) => {
  const title = req.body?.title;
  if (typeof title !== 'string' || title.trim() === '') {
    res.status(400).json({ error: 'Se necesita un título' });
    return;
  }
  const record = await repo.insert({ title });
  res.status(201).location('/tasks/' + record.id).json(record);
});

api.get('/tasks/:id', async (req, res) => {
  const record = await repo.get(Number.parseInt(req.params.id, 10));
  if (record) res.json(record);
  else res.status(404).json({ error: 'No existe' });
});

api.delete('/tasks/:id', async (req, res) => {
  const removed = await repo.remove(Number.parseInt(req.params.id, 10));
  res.status(removed ? 204 : 404).json(removed ? undefined : { error: 'No existe' });
});

const server = express();
server.use(express.json(), api);
server.listen(process.env.PORT || 3000);
""",
    },
    # 10. Express with a handler factory that wraps validation and lookups generically.
    {
        "server.js": """const express = require('express');

const TASKS = [];
let autoIncrement = 0;

const problem = (res, status, detail) => res.status(status).json({ error: detail });

const withTask = (handler) => (req, res) => {
  const wanted = Number(req.params.id);
  const position = TASKS.findIndex((task) => task.id === wanted);
  if (!Number.isInteger(wanted) || position < 0) return problem(res, 404, 'task not found');
  return handler(req, res, TASKS[position], position);
};

const withBody = (check, handler) => (req, res) => {
  const reason = check(req.body || {});
  return reason ? problem(res, 400, reason) : handler(req, res);
};

const checkTask = ({ title }) =>
  typeof title !== 'string' ? 'title must be text' : title.trim() ? null : 'title is empty';

const server = express();
server.use(express.json());

server.get('/tasks', (req, res) => res.json(TASKS));
server.get('/tasks/:id', withTask((req, res, task) => res.json(task)));
server.post('/tasks', withBody(checkTask, (req, res) => {
  autoIncrement += 1;
  const task = { id: autoIncrement, title: req.body.title, done: false };
  TASKS.push(task);
  res.status(201).location(`/tasks/${task.id}`).json(task);
}));
server.delete('/tasks/:id', withTask((req, res, task, position) => {
  TASKS.splice(position, 1);
  res.status(204).end();
}));

server.listen(process.env.PORT || 3000);
""",
    },
    # 11. node:http with an EventEmitter-based dispatcher.
    {
        "server.js": """const { createServer } = require('node:http');
const { EventEmitter } = require('node:events');

const bus = new EventEmitter();
const list = [];

function send(res, status, value, extra) {
  res.writeHead(status, Object.assign({ 'Content-Type': 'application/json' }, extra));
  res.end(value === undefined ? undefined : JSON.stringify(value));
}

bus.on('GET /tasks', (req, res) => send(res, 200, list));

bus.on('GET /tasks/:id', (req, res, id) => {
  const hit = list.filter((x) => x.id === id)[0];
  if (hit) send(res, 200, hit); else send(res, 404, { error: 'not found' });
});

bus.on('POST /tasks', (req, res) => {
  let raw = '';
  req.on('data', (d) => (raw += d));
  req.on('end', () => {
    let title;
    try { title = JSON.parse(raw).title; } catch (_) { title = undefined; }
    if (typeof title !== 'string' || title.length === 0) return send(res, 400, { error: 'bad title' });
    const entry = { id: list.length ? list[list.length - 1].id + 1 : 1, title, done: false };
    list.push(entry);
    send(res, 201, entry, { Location: '/tasks/' + entry.id });
  });
});

bus.on('DELETE /tasks/:id', (req, res, id) => {
  const i = list.map((x) => x.id).indexOf(id);
  if (i === -1) return send(res, 404, { error: 'not found' });
  list.splice(i, 1);
  send(res, 204);
});

createServer((req, res) => {
  const [, first, second] = req.url.split('?')[0].split('/');
  const key = `${req.method} /${first}` + (second === undefined ? '' : '/:id');
  if (first !== 'tasks' || !bus.emit(key, req, res, Number(second))) send(res, 404, { error: 'no route' });
}).listen(process.env.PORT || 3000);
""",
    },
    # 12. Express with a tiny in-memory "model" module and validation via a schema object.
    {
        "app.js": """const express = require('express');
const Task = require('./task');

const app = express();
app.use(express.json({ limit: '10kb' }));

app.get('/tasks', (req, res) => {
  res.send(Task.findAll());
});

app.get('/tasks/:id', (req, res) => {
  const task = Task.findById(req.params.id);
  if (task === undefined) {
    res.status(404);
    return res.send({ error: 'task ' + req.params.id + ' does not exist' });
  }
  res.send(task);
});

app.post('/tasks', (req, res) => {
  const errors = Task.validate(req.body);
  if (errors.length) return res.status(400).send({ error: errors.join(', ') });
  const task = Task.create(req.body);
  res.status(201);
  res.location('/tasks/' + task.id);
  res.send(task);
});

app.delete('/tasks/:id', (req, res) => {
  if (!Task.destroy(req.params.id)) return res.status(404).send({ error: 'does not exist' });
  res.status(204).send();
});

app.listen(process.env.PORT || 3000);
""",
        "task.js": """const schema = {
  title: (v) => (typeof v === 'string' && v.trim() ? null : 'title is required'),
};

let rows = {};
let serial = 0;

exports.validate = (input) =>
  Object.entries(schema)
    .map(([field, rule]) => rule(input ? input[field] : undefined))
    .filter(Boolean);

exports.create = ({ title }) => {
  serial += 1;
  rows[serial] = { id: serial, title: title.trim(), done: false };
  return rows[serial];
};

exports.findAll = () => Object.values(rows);
exports.findById = (id) => rows[String(id)];
exports.destroy = (id) => {
  const existed = Object.prototype.hasOwnProperty.call(rows, String(id));
  delete rows[String(id)];
  return existed;
};
""",
    },
]
