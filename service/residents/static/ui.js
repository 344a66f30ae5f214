// Small DOM helpers: elements are built with textContent, never from HTML strings.

/** An element `tag` with properties/attributes `props` and children (nodes or text). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

/** Show the screen `name` and move focus to its heading (screen readers announce it). */
export function show(name, focus = true) {
  for (const screen of document.querySelectorAll(".screen")) {
    screen.hidden = screen.id !== `screen-${name}`;
  }
  const heading = document.querySelector(`#screen-${name} h1`);
  if (heading && focus) heading.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}
