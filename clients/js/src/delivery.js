// DeliveryChain: the callbacks of one client run one after another, in
// arrival order; a step that returns a promise holds the later ones until it
// settles. reset() drops the steps still waiting (close(), recover()).
export class DeliveryChain {
  #tail = Promise.resolve();
  #session = 0;
  #onError;

  /** @param {(error: unknown) => void} onError for errors thrown by a step */
  constructor(onError) {
    this.#onError = onError;
  }

  /** Queue `step` behind every earlier one; resolves once it has run (or was dropped). */
  enqueue(step) {
    const session = this.#session;
    this.#tail = this.#tail
      .then(() => (session === this.#session ? step() : undefined))
      .catch((error) => this.#onError(error));
    return this.#tail;
  }

  reset() {
    this.#session++;
  }
}
