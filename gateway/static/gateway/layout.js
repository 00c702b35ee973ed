// The page's layout: which of the room list and the conversation a narrow screen shows (the
// Rooms back button), and the side panel with members and requests (open, closed, an overlay
// below 1100 px that Escape closes). Its state lives on the page (data-view, data-panel).

import { $ } from './dom.js';

export function createLayout({ state }) {
  const app = () => document.querySelector('.app');
  const panelOverlays = () => window.matchMedia('(max-width: 1099px)').matches;

  /** 'rooms' or 'chat'. */
  function setView(view) {
    const node = app();
    if (node) node.dataset.view = view;
  }

  function setPanel(open) {
    app().dataset.panel = open ? 'open' : 'closed';
    $('members-toggle').setAttribute('aria-expanded', String(open));
  }

  /** The panel starts open where there is room for it beside the conversation. */
  function setPanelForScreen() {
    setPanel(window.matchMedia('(min-width: 1100px)').matches);
  }

  function closePanel() {
    setPanel(false);
    $('members-toggle').focus();
  }

  $('back').addEventListener('click', () => {
    setView('rooms');
    const current = document.querySelector(`#room-list button[data-room-id="${state.current}"]`);
    (current || $('create-summary')).focus();
  });

  $('members-toggle').addEventListener('click', () => {
    const open = app().dataset.panel !== 'open';
    setPanel(open);
    if (open && panelOverlays()) $('panel-close').focus();
  });

  $('panel-close').addEventListener('click', closePanel);
  $('side-panel').addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && panelOverlays()) closePanel();
  });

  return { setView, setPanelForScreen };
}
