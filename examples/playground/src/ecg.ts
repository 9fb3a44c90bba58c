/** The page's one client: same origin as the page, with the token the user typed (session storage). */
import { createBackendClient } from '@ecg/sdk';
import { createEcgReact } from '@ecg/sdk/react';

const TOKEN_KEY = 'ecg-playground-token';

export const readToken = (): string => sessionStorage.getItem(TOKEN_KEY) ?? '';
export function writeToken(value: string): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export const ecg = createEcgReact(createBackendClient({ baseUrl: location.origin, token: () => readToken() || null }));
