// Session timeout warning (WCAG 2.2.1 Timing Adjustable): warn before the idle session ends and
// let people extend it. No inline script: settings come from data attributes on the <dialog>.
const dialog = document.getElementById('session-timeout')

function formatRemaining (seconds) {
  if (seconds >= 60) {
    const minutes = Math.ceil(seconds / 60)
    return `${minutes} minute${minutes === 1 ? '' : 's'}`
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`
}

function start () {
  if (!dialog || typeof dialog.showModal !== 'function') return
  const timeoutSeconds = Number(dialog.dataset.timeoutSeconds)
  const warningSeconds = Math.min(Number(dialog.dataset.warningSeconds), timeoutSeconds)
  // Act a little early: the server's clock started when it sent the page.
  const marginSeconds = 15
  const countdown = dialog.querySelector('[data-countdown]')
  const announce = dialog.querySelector('[data-announce]')
  const extendButton = dialog.querySelector('[data-extend]')
  let deadline = 0
  let warnTimer = 0
  let tickTimer = 0
  let lastAnnounced = ''

  function schedule () {
    deadline = Date.now() + (timeoutSeconds - marginSeconds) * 1000
    window.clearTimeout(warnTimer)
    window.clearInterval(tickTimer)
    warnTimer = window.setTimeout(openWarning, Math.max(0, (timeoutSeconds - warningSeconds - marginSeconds) * 1000))
  }

  function remainingSeconds () {
    return Math.max(0, Math.round((deadline - Date.now()) / 1000))
  }

  function tick () {
    const remaining = remainingSeconds()
    const text = formatRemaining(remaining)
    countdown.textContent = text
    // Screen readers hear the time at each minute and at 30 and 10 seconds, not every second.
    const milestone = remaining >= 60 ? text : (remaining === 30 || remaining === 10 ? text : lastAnnounced)
    if (milestone !== lastAnnounced) {
      lastAnnounced = milestone
      announce.textContent = `You will be signed out in ${milestone}`
    }
    if (remaining <= 0) timeOut()
  }

  function openWarning () {
    lastAnnounced = ''
    tick()
    dialog.showModal()
    extendButton.focus()
    tickTimer = window.setInterval(tick, 1000)
  }

  function timeOut () {
    window.clearInterval(tickTimer)
    // Keep what is on the page: the wizard saves it, ends the session and shows the signed-out page.
    const form = document.getElementById('wizard-form')
    if (form) {
      const action = document.createElement('input')
      action.type = 'hidden'
      action.name = 'action'
      action.value = 'timeout'
      form.appendChild(action)
      form.submit()
      return
    }
    // Elsewhere, sign out with a POST: the server ends a session only on a CSRF-checked POST.
    const signOut = document.createElement('form')
    signOut.method = 'post'
    signOut.action = dialog.dataset.timedOutUrl
    const token = document.createElement('input')
    token.type = 'hidden'
    token.name = 'csrfmiddlewaretoken'
    token.value = dialog.dataset.csrfToken
    signOut.appendChild(token)
    document.body.appendChild(signOut)
    signOut.submit()
  }

  async function extend () {
    try {
      const response = await fetch(dialog.dataset.extendUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRFToken': dialog.dataset.csrfToken, Accept: 'application/json' }
      })
      if (!response.ok) throw new Error(`Status ${response.status}`)
    } catch (error) {
      // Could not reach the server: leave the warning open so people can try again.
      announce.textContent = 'Sorry, we could not keep you signed in. Try again.'
      return
    }
    window.clearInterval(tickTimer)
    dialog.close()
    schedule()
  }

  extendButton.addEventListener('click', extend)
  // Escape closes a modal dialog; treat it as "Continue" so the time is extended, not ignored.
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault()
    extend()
  })
  schedule()
}

start()
