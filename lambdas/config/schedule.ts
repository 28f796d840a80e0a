/**
 * EventBridge Scheduler expressions: `cron(m h dom mon dow year)`, `rate(n unit)`, `at(yyyy-mm-ddThh:mm:ss)`.
 * Returns a reason when the expression is invalid, undefined when it is valid — so the config loader can say why.
 */
const CRON_FIELDS: readonly { name: string; pattern: RegExp }[] = [
  { name: "minutes", pattern: /^(\*|[0-5]?\d)([-/][0-5]?\d)?(,([0-5]?\d)([-/][0-5]?\d)?)*$/ },
  { name: "hours", pattern: /^(\*|[01]?\d|2[0-3])([-/]([01]?\d|2[0-3]))?(,([01]?\d|2[0-3])([-/]([01]?\d|2[0-3]))?)*$/ },
  { name: "day-of-month", pattern: /^(\?|\*|L|LW|([1-9]|[12]\d|3[01])W?)([-/]([1-9]|[12]\d|3[01]))?(,([1-9]|[12]\d|3[01])([-/]([1-9]|[12]\d|3[01]))?)*$/ },
  {
    name: "month",
    pattern:
      /^(\*|[1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)([-/]([1-9]|1[0-2]|[A-Z]{3}))?(,([1-9]|1[0-2]|[A-Z]{3})([-/]([1-9]|1[0-2]|[A-Z]{3}))?)*$/i,
  },
  {
    name: "day-of-week",
    pattern: /^(\?|\*|[1-7]L?|[1-7]#[1-5]|SUN|MON|TUE|WED|THU|FRI|SAT)([-/]([1-7]|[A-Z]{3}))?(,([1-7]|[A-Z]{3})([-/]([1-7]|[A-Z]{3}))?)*$/i,
  },
  { name: "year", pattern: /^(\*|(19[7-9]\d|2\d{3}))([-/](\d{1,4}))?(,(19[7-9]\d|2\d{3})([-/]\d{1,4})?)*$/ },
];

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const AT = /^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$/;
const CRON = /^cron\((.*)\)$/;

export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    const [, value = "0", unit = ""] = rate;
    const n = Number(value);
    if (n < 1) return "a rate must be at least 1";
    if (n === 1 && unit.endsWith("s")) return `use the singular unit for 1: rate(1 ${unit.slice(0, -1)})`;
    if (n > 1 && !unit.endsWith("s")) return `use the plural unit for ${n}: rate(${n} ${unit}s)`;
    return undefined;
  }
  if (AT.test(expression)) return undefined;
  const cron = CRON.exec(expression);
  if (!cron) {
    return 'expected "cron(minutes hours day-of-month month day-of-week year)", "rate(N unit)" or "at(yyyy-mm-ddThh:mm:ss)"';
  }
  const fields = (cron[1] ?? "").trim().split(/\s+/);
  if (fields.length !== 6) {
    return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
  }
  for (const [i, field] of fields.entries()) {
    const spec = CRON_FIELDS[i];
    if (spec && !spec.pattern.test(field)) return `cron field ${spec.name} "${field}" is not valid`;
  }
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
    return 'exactly one of day-of-month and day-of-week must be "?" (e.g. cron(0 2 * * ? *))';
  }
  return undefined;
}
