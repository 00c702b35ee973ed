// One room's messages as the client knows them: deduplicated by message id, kept in seq order.
// Pure data, no DOM: the view asks where a message goes and renders it there.

/** A message object (API.md §3) from a `chat` frame, whose content travels as `payload`. */
export function messageFromFrame(frame) {
  return {
    id: frame.id,
    room_id: frame.room_id,
    sender_id: frame.sender_id,
    seq: frame.seq,
    client_msg_id: frame.client_msg_id ?? null,
    created_at: frame.created_at,
    content: frame.payload,
  };
}

export class Timeline {
  constructor() {
    /** @type {Map<number, object>} */
    this.byId = new Map();
    /** @type {object[]} sorted by seq */
    this.messages = [];
    this.historyLoaded = false;
    this.hasOlder = true;
    this.loadingOlder = false;
  }

  has(id) {
    return this.byId.has(id);
  }

  get oldestSeq() {
    return this.messages.length ? this.messages[0].seq : null;
  }

  get newestSeq() {
    return this.messages.length ? this.messages[this.messages.length - 1].seq : null;
  }

  /**
   * Add one message. Returns -1 when it is already here (same id: a redelivery or an overlap
   * of history and live frames), else the index it now has in seq order.
   */
  add(message) {
    if (this.byId.has(message.id)) return -1;
    this.byId.set(message.id, message);
    let index = this.messages.length;
    // Live messages arrive in order, so the search from the end usually stops at once.
    while (index > 0 && this.messages[index - 1].seq > message.seq) index -= 1;
    this.messages.splice(index, 0, message);
    return index;
  }

  /** The message that follows `message` in seq order, or null when it is the newest. */
  after(message) {
    const index = this.messages.indexOf(message);
    return index >= 0 && index + 1 < this.messages.length ? this.messages[index + 1] : null;
  }

  /** Whether a message from this client (matched by its client_msg_id) is already stored. */
  findByClientId(clientMsgId) {
    if (!clientMsgId) return null;
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      if (this.messages[i].client_msg_id === clientMsgId) return this.messages[i];
    }
    return null;
  }
}

/**
 * Reconnection delay for the given failed attempt (0, 1, 2, ...): exponential from `base`,
 * capped, with "equal jitter" (between half and all of it) so that many clients that lost
 * the same gateway do not all come back in the same instant.
 */
export function backoffDelay(attempt, { base = 500, cap = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
