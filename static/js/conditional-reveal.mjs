// Shows the follow-up questions that belong to the chosen radio.
// GOV.UK Frontend's radios module does the same but also puts aria-expanded on each radio,
// which ARIA 1.2 does not allow on role=radio (axe rule aria-allowed-attr, critical);
// aria-controls alone is allowed, so this module sets only that.
export function initConditionalReveals (root = document) {
  for (const group of root.querySelectorAll('[data-app-reveal]')) {
    const inputs = [...group.querySelectorAll('input[type="radio"][data-reveal-target]')]
    const sync = () => {
      for (const input of inputs) {
        const target = document.getElementById(input.dataset.revealTarget)
        if (!target) continue
        input.setAttribute('aria-controls', target.id)
        target.classList.toggle('govuk-radios__conditional--hidden', !input.checked)
      }
    }
    // A radio fires "change" only when it becomes checked, so every change re-syncs the group.
    for (const input of group.querySelectorAll('input[type="radio"]')) {
      input.addEventListener('change', sync)
    }
    sync()
  }
}
