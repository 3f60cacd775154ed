// The expression of an alert about a sustained failure, named by its cause.
//
// Prometheus keeps the `for:` clock of an alert per name and label set. A
// failure's reason is a label of probe_smtp_failure, and it names the alert
// (a timeout is SmtpPortBlocked, a reset SmtpPortRefused), so an alert whose
// `for:` ran on probe_smtp_failure restarted its clock at every change of
// reason, and a target failing for good with changing reasons never paged.
// Here the duration is measured on dialogue:probe_smtp_failing:bool, which
// stays put while the dialogue fails, inside the expression:
//
//   the dialogue fails now, failed at every evaluation of the last
//   outageFor, and was already failing outageFor ago (== 1, min_over_time
//   … == 1, offset … == 1)
//
// and the cause only picks the name: the alert fires for each cause seen
// in that window. A reason that keeps changing therefore raises every
// alert it names (a load balancer that drops some connections and resets
// the others: SmtpPortBlocked and SmtpPortRefused), each steadily, not one
// after the other. The alerts carry no phase or reason label, so a change
// of reason never resets them; the description says which were seen.
// These alerts have no `for:`: the expression already holds it.
local u = import '../lib/utils.libsonnet';

{
  // selectors: matchers of probe_smtp_failure series owned by the alert
  // (OR-ed). availability: fire only while the probe as a whole fails
  // (probe_success == 0: for the submission prober, no port works). last:
  // more PromQL lines appended (e.g. `unless …`).
  expr(config, selectors, availability=true, last=[])::
    local F = config.outageFor;
    u.lines(
      ['max without (phase, reason) ('] +
      [
        '  %smax_over_time(%s[%s])' % [if i == 0 then '' else 'or ', u.failure(config.smtpSelector, selectors[i]), F]
        for i in std.range(0, std.length(selectors) - 1)
      ] +
      [
        ')',
        '  and (',
        '    dialogue:probe_smtp_failing:bool == 1',
        '    and min_over_time(dialogue:probe_smtp_failing:bool[%s]) == 1' % F,
        '    and dialogue:probe_smtp_failing:bool offset %s == 1' % F,
        '  )',
      ] +
      (if availability then [
         '  and ignoring (%s) probe_success{%s} == 0' % [u.dialogueLabelList, config.smtpSelector],
       ] else []) +
      last
    ),

  // The common description end: the failures seen, with the last reply code.
  seen(config):: 'Recent failures: ' + u.failuresSeen(config.outageFor) + '.',
}
