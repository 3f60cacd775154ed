// The overview's "Exporter health" row: is the monitoring itself working?
// Scrapes, config reloads, rejected probes, panics, probes in flight and
// open connections, probes by result. The exporter's own metrics come from
// its /metrics job (config.exporterSelector), filtered by vantage.
local lib = import 'lib.libsonnet';

function(config, y)
  local probes = lib.selector('$instance');
  local E = config.exporterSelector + ', vantage=~"$vantage"';
  local exporter(expr) = std.strReplace(expr, '{E}', '{' + E + '}');
  // 0 while an exporter answers and nothing happened, "no data" when none
  // answers.
  local zeroIfUp = ' or sum(smtp_exporter_probes_in_flight{E}) * 0';
  [
    lib.row('Exporter health', y),
    lib.stat(
      'Scrapes failing',
      'Scrapes of the selected probes and of the exporters\' /metrics that fail (up 0): the exporter is down, unreachable, refuses the probe (503, 403) or answers after the scrape timeout. SmtpExporterDown fires when it lasts.',
      [0, y + 1, 4, 4],
      [lib.instant(std.strReplace(exporter('count(up{P} == 0 or up{E} == 0) or count(up{P} or up{E}) * 0'), '{P}', '{' + probes + '}'))],
    ) + {
      fieldConfig+: { defaults+: lib.noData + { thresholds: lib.steps(['green', 1, 'red']) } },
    },
    lib.stat(
      'Config reload',
      'smtp_exporter_config_last_reload_successful of every selected exporter: FAILED when any kept its previous configuration after a bad reload (SmtpExporterConfigReloadFailed).',
      [4, y + 1, 4, 4],
      [lib.instant(exporter('min(smtp_exporter_config_last_reload_successful{E})'))],
    ) + {
      fieldConfig+: { defaults+: lib.noData + { mappings: [lib.valueMap([['1', 'OK', 'green'], ['0', 'FAILED', 'red']])] + super.mappings } },
    },
    lib.stat(
      'Probes rejected',
      'Probe requests refused before probing over the time range (smtp_exporter_probes_rejected_total): concurrency_limit (503, --probe.max-concurrent) or target_forbidden (403, allowed_targets). Those targets go unmonitored.',
      [8, y + 1, 4, 4],
      [lib.instant(exporter('sum(increase(smtp_exporter_probes_rejected_total{E}[$__range]))' + zeroIfUp))],
    ) + {
      fieldConfig+: { defaults+: lib.noData + { thresholds: lib.steps(['green', 1, 'orange']), decimals: 0 } },
    },
    lib.stat(
      'Probe panics',
      'Probes that panicked inside the exporter over the time range (smtp_exporter_probe_panics_total; they fail with reason internal): a bug to report (SmtpExporterProbePanics).',
      [0, y + 5, 4, 4],
      [lib.instant(exporter('sum(increase(smtp_exporter_probe_panics_total{E}[$__range]))' + zeroIfUp))],
    ) + {
      fieldConfig+: { defaults+: lib.noData + { thresholds: lib.steps(['green', 1, 'red']), decimals: 0 } },
    },
    lib.timeseries(
      'Probes by result',
      'Probes per second run by the selected exporters, by result (smtp_exporter_probes_total).',
      [4, y + 5, 8, 4],
      [lib.range(exporter('sum by (result) (rate(smtp_exporter_probes_total{E}[$__rate_interval]))'), 'A', '{{result}}')],
    ) + {
      fieldConfig+: { defaults+: { unit: 'reqps' } },
    },
    lib.timeseries(
      'Probes in flight and open connections',
      'Probes running now (smtp_exporter_probes_in_flight, capped by --probe.max-concurrent) and SMTP connections the exporter holds open (smtp_exporter_connections_open), per exporter. Connections that stay open without probes in flight are a leak.',
      [12, y + 1, 12, 8],
      [
        lib.range(exporter('sum by (instance, vantage) (smtp_exporter_probes_in_flight{E})'), 'A', 'in flight {{instance}} {{vantage}}'),
        lib.range(exporter('sum by (instance, vantage) (smtp_exporter_connections_open{E})'), 'B', 'connections {{instance}} {{vantage}}'),
      ],
    ) + {
      fieldConfig+: { defaults+: { decimals: 0, min: 0 } },
    },
  ]
