/** Load signals from model servers: scraping, parsing, scoring (see load-book.ts for the formula). */
export { ENGINES, extractSignals, type Engine, type LoadSignals } from './engine-metrics.js';
export { FleetScrape, type FleetScrapeStatus, type ScrapeSource } from './fleet-scrape.js';
export { LoadAwareView } from './load-aware-view.js';
export { LoadBook, type InflightFn, type LoadScoring, type LoadSignalsSnapshot } from './load-book.js';
export { kvShareOf, predictLoad, type LoadPrediction } from './load-prediction.js';
export { LoadScraper } from './load-scraper.js';
export { createMetricsFetcher, type MetricsFetch } from './metrics-fetch.js';
export { parsePrometheusText, PrometheusParseError, type PromSample } from './prometheus-text.js';
