import { initAll } from '/static/govuk/govuk-frontend.min.js'
import { initConditionalReveals } from '/static/js/conditional-reveal.mjs'

initAll()
initConditionalReveals()
