// The one way this app makes DOM: elements and text nodes. Strings always become text, never markup, and
// event-handler or style attributes are refused, so that no tenant-provided string can become code.

export type Child = Node | string | number | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | null | undefined>;

const FORBIDDEN_ATTRIBUTE = /^(on|style$|srcdoc$|formaction$)/i;

function apply(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (FORBIDDEN_ATTRIBUTE.test(name)) throw new Error(`attribute ${name} is not allowed: use addEventListener or a class`);
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** An HTML element with attributes and children; strings become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  apply(element, attributes);
  append(element, children);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  apply(element, attributes);
  append(element, children);
  return element;
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let nextId = 0;
/** A document-unique id for label/aria references. */
export function uid(prefix: string): string {
  return `${prefix}-${++nextId}`;
}

/** A labelled text input, its label, and an optional hint read out with it. */
export function field(
  label: string,
  attributes: Attributes & { name: string },
  hint?: string,
): { wrapper: HTMLDivElement; input: HTMLInputElement; hint?: HTMLElement } {
  const id = uid(attributes.name);
  const hintElement = hint === undefined ? undefined : h('p', { class: 'hint', id: `${id}-hint` }, hint);
  const input = h('input', {
    type: 'text',
    id,
    autocomplete: 'off',
    spellcheck: 'false',
    ...attributes,
    'aria-describedby': hintElement ? `${id}-hint` : undefined,
  });
  return { wrapper: h('div', { class: 'field' }, h('label', { for: id }, label), input, hintElement), input, hint: hintElement };
}
