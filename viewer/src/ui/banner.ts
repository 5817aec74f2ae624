/** The message line under the header: errors stay until dismissed or replaced, notes fade on the next message. */
import { byId } from './dom.js';

export type BannerKind = 'error' | 'note';

export function showBanner(kind: BannerKind, message: string): void {
  const banner = byId('banner');
  byId('banner-text').textContent = message;
  banner.dataset.kind = kind;
  banner.hidden = false;
}

export function hideBanner(): void {
  byId('banner').hidden = true;
}

/** A readable message for anything thrown. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

export function bindBanner(): void {
  byId('banner-close').addEventListener('click', hideBanner);
}
