// Small helpers shared by the alerts and the recording rules.
{
  // The labels that tell one dialogue of a probe from another: the
  // submission prober's port, the mx prober's MX host, all_addresses'
  // address. Target labels (job, instance, vantage, module…) come on top.
  dialogueLabels: ['port', 'mx', 'preference', 'address', 'ip_version'],
  dialogueLabelList: std.join(', ', self.dialogueLabels),

  // probe_smtp_failure{...} with the given matchers and the selector.
  failure(selector, matchers=''):: 'probe_smtp_failure{%s%s}' % [selector, if matchers == '' then '' else ', ' + matchers],

  // Multi-line PromQL from a list of lines (for readable generated YAML).
  lines(ls):: std.join('\n', ls) + '\n',

  // The template snippet naming a dialogue: "MX host mx1 of example.com port
  // 587 at 192.0.2.1 from vantage eu-west (job smtp_mx)".
  where: '{{ with $labels.mx }}MX host {{ . }} of {{ end }}{{ $labels.instance }}'
         + '{{ with $labels.port }} port {{ . }}{{ end }}'
         + '{{ with $labels.address }} at {{ . }}{{ end }}'
         + '{{ with $labels.vantage }} from vantage {{ . }}{{ end }} (job {{ $labels.job }})',

  // A PromQL selector, inside a template, for the series of the alert's
  // dialogue: `extra` is more matchers (escaped for printf).
  dialogueQuery(metric, extra=''):: (
    'printf "%s{job=%%q,instance=%%q,vantage=%%q,port=%%q,mx=%%q,address=%%q%s}" '
    + '$labels.job $labels.instance $labels.vantage $labels.port $labels.mx $labels.address'
  ) % [metric, extra],

  // Template: the dialogue's failures over `range` ("connect/timeout ×5,
  // connect/refused ×4"), then the reply code of the latest, if any.
  failuresSeen(range):: (
    '{{ range $i, $f := printf "sum by (phase, reason) (count_over_time(probe_smtp_failure{job=%%q,instance=%%q,vantage=%%q,port=%%q,mx=%%q,address=%%q}[%s]))" '
    + '$labels.job $labels.instance $labels.vantage $labels.port $labels.mx $labels.address | query | sortByLabel "reason" }}'
    + '{{ if $i }}, {{ end }}{{ label "phase" $f }}/{{ label "reason" $f }} ×{{ value $f }}{{ else }}none reported{{ end }}'
    + '{{ with %s | query }}; last reply code {{ . | first | value }}{{ end }}'
  ) % [range, self.dialogueQuery('probe_smtp_failure_reply_code')],

  // Adds runbook_url to every alert of the groups: the pattern's %s is the
  // alert name in lower case, the anchor of its section in
  // dashboards/README.md.
  withRunbooks(groups, pattern):: [
    g {
      rules: [
        if std.objectHas(r, 'alert') then r {
          annotations+: { runbook_url: pattern % std.asciiLower(r.alert) },
        } else r
        for r in g.rules
      ],
    }
    for g in groups
  ],
}
