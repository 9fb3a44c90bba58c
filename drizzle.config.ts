import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes a new migration into drizzle/migrations/ from drizzle/schema.ts.
// The server applies the shipped migrations itself at start-up (server/db/migrate.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './drizzle/schema.ts',
  out: './drizzle/migrations',
  strict: true,
  verbose: true,
  ...(process.env.DATABASE_URL ? { dbCredentials: { url: process.env.DATABASE_URL } } : {}),
});
