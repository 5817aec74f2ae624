/** Small DOM helpers: typed element lookup and element creation without innerHTML (the page's CSP forbids inline code). */

/** The element with this id. @throws Error when the page lacks it (a build/template mismatch). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no element #${id}; index.html and the bundle do not match (rebuild with npm run build:viewer)`);
  return el as T;
}

type Attrs = Record<string, string | number | boolean | undefined>;

/** Creates an element with attributes (false/undefined ones are left out) and children (strings become text). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  e.append(...children);
  return e;
}

export function show(e: HTMLElement, visible: boolean): void {
  e.hidden = !visible;
}
