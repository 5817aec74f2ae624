/**
 * The API token: asked for when the server answers 401, kept in sessionStorage (this tab only, gone when it closes),
 * sent by the Api class on every call. One dialog serves all requests that fail at the same time.
 */
import type { TokenStore } from '../api.js';
import { byId } from './dom.js';

const KEY = 'medseg.token';

export class SessionTokenStore implements TokenStore {
  private pending: Promise<boolean> | undefined;

  get(): string | undefined {
    return sessionStorage.getItem(KEY) ?? undefined;
  }

  set(token: string | undefined): void {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  }

  ask(reason: string): Promise<boolean> {
    this.pending ??= this.dialog(reason).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Opens the token dialog; resolves true when a token was saved (saving an empty field removes it). */
  dialog(reason: string): Promise<boolean> {
    const dialog = byId<HTMLDialogElement>('token-dialog');
    const input = byId<HTMLInputElement>('token-input');
    byId('token-reason').textContent = reason;
    input.value = this.get() ?? '';
    return new Promise((resolve) => {
      const onClose = () => {
        dialog.removeEventListener('close', onClose);
        if (dialog.returnValue === 'save') {
          // Saving an empty field forgets the token (a server without one).
          this.set(input.value.trim() || undefined);
          resolve(input.value.trim() !== '');
        } else resolve(false);
      };
      dialog.addEventListener('close', onClose);
      dialog.returnValue = '';
      dialog.showModal();
      input.focus();
    });
  }
}
