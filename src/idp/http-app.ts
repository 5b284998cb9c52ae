import type { FastifyInstance } from 'fastify';

/** The HTTPS fastify app the provider mounts on (built by protocols/http, which idp may not import). */
export type HttpsApp = FastifyInstance;
