// Building the page safely: elements by id, new elements whose text is only ever set as
// textContent (never HTML), rebuilding a list without losing keyboard focus, busy forms.
// Stateless; nothing here touches the document until called.

export const $ = (id) => document.getElementById(id);

/** An element with text content (never HTML) and attributes. */
export function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** Rebuild `list` with `fill`, keeping keyboard focus on the same control (by a data key). */
export function rebuildKeepingFocus(list, key, fill) {
  const active = document.activeElement;
  const holder = active && list.contains(active) ? active.closest(`[${key}]`) : null;
  const wanted = holder ? holder.getAttribute(key) : null;
  const label = active ? active.textContent : '';
  list.replaceChildren();
  fill();
  if (wanted === null) return;
  const again = [...list.querySelectorAll(`[${key}]`)].find((node) => node.getAttribute(key) === wanted);
  const target = again && ([...again.querySelectorAll('button')].find((b) => b.textContent === label) || again.querySelector('button') || again);
  if (target) target.focus();
}

export function setFormError(id, text) {
  $(id).textContent = text || '';
}

/** Run `action` with the form's buttons disabled. */
export async function withBusy(form, action) {
  const buttons = form.querySelectorAll('button');
  buttons.forEach((button) => {
    button.disabled = true;
  });
  try {
    await action();
  } finally {
    buttons.forEach((button) => {
      button.disabled = false;
    });
  }
}

/** A form's submit handler: no page load, the error line emptied, the buttons busy meanwhile. */
export function onSubmit(formId, errorId, action) {
  $(formId).addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    setFormError(errorId, '');
    withBusy(form, () => action(form));
  });
}
