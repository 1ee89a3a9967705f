// For Jest only (jest.config.js maps @kubernetes/client-node here): the client is an ES module,
// which Node's own loader can require from CommonJS and Jest's cannot. So it is loaded by
// Node's loader, outside Jest's module registry, and handed to the code under test as it is.
const { Module } = require('node:module');
const parent = { id: __filename, filename: __filename, paths: Module._nodeModulePaths(__dirname) };
module.exports = Module._load('@kubernetes/client-node', parent, false);
