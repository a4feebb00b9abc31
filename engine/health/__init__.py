"""Local health rules over the cluster and its support reports (issue 16).

One evaluation reads the cluster and the reports once, in one `ClusterSession`
(`engine.health.facts`), applies pure rules to what it read (`engine.health.rules`, the
ids of `engine.health.finding.RULES`), and hands the findings to a tracker that remembers
what one evaluation cannot know alone (`engine.health.tracker`: since when a finding
holds, brokers registered earlier in this process, controller changes, RAISED and CLEARED
transitions). `engine.health.monitor.HealthMonitor` ties the three together; the CLI's
`health`, the exporter (`engine.health.exporter`) and the console's Health screen all
call `HealthMonitor.evaluate()` and show the `Evaluation` it returns.
"""
