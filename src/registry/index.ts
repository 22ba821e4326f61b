export { createEndpoint, sendsOwnCredentials, servesModel, type Endpoint } from './endpoint.js';
export { Registry, type Region } from './registry.js';
