// Recording rules. dialogue:probe_smtp_failing:bool is the series the outage
// alerts measure time on: one per dialogue (a plain probe, a submission
// port, an MX host, an address, the mx prober's domain), 1 while it fails
// and 0 while it passes, with no phase or reason label. probe_smtp_failure
// starts a new series whenever the reason changes (timeout, then refused);
// this one stays put, so "failing for 5 minutes" survives a changing reason.
local u = import '../lib/utils.libsonnet';

{
  prometheusRules+:: {
    groups+: [
      {
        name: 'smtp_exporter.rules',
        rules: [
          {
            record: 'dialogue:probe_smtp_failing:bool',
            // The 0 comes from a series every dialogue has whatever happens:
            // probe_smtp_reachable (each dialogue), probe_smtp_addresses
            // (a host probed on all addresses), probe_smtp_mx_hosts (the
            // domain of an mx probe).
            expr: u.lines([
              'max without (phase, reason) (%s)' % u.failure($._config.smtpSelector),
              '  or probe_smtp_reachable{%s} * 0' % $._config.smtpSelector,
              '  or probe_smtp_addresses{%s} * 0' % $._config.smtpSelector,
              '  or probe_smtp_mx_hosts{%s} * 0' % $._config.smtpSelector,
            ]),
          },
        ],
      },
    ],
  },
}
