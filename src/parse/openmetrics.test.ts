// Tests of the OpenMetrics push parser: the specification's own test suite, the mapping onto the
// model (table-driven), error messages with line numbers, real client output (prom-client 15 live,
// Python prometheus_client as a fixture) and what a stored push looks like in the text scrape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import type { LabelPair, MetricFamily } from '../model.js';
import { familyText } from '../expose/text.js';
import { ScrapeCache } from '../expose/scrape.js';
import { MemoryStore } from '../store/memory.js';
import { parseText } from './text.js';
import {
  OpenMetricsParseError,
  endsWithOpenMetricsEof,
  isOpenMetrics,
  parseOpenMetrics,
  parseOpenMetricsBytes,
  secondsToTimestamp,
} from './openmetrics.js';

const L = (o: Record<string, string> = {}): LabelPair[] => Object.entries(o).map(([name, value]) => ({ name, value }));

// --- The OpenMetrics test suite --------------------------------------------------------------
// tests/testdata/parsers of github.com/prometheus/OpenMetrics (Apache License 2.0), commit
// 03873fa: [name, shouldParse, input]. The Python client's openmetrics parser is the
// implementation those expectations were written against.
const suite: Array<[string, boolean, string]> = [
  ['bad_blank_line', false, 'a 1\n\n# EOF\n'],
  ['bad_clashing_names_0', false, '# TYPE a counter\n# TYPE a counter\n# EOF\n'],
  ['bad_clashing_names_1', false, '# TYPE a info\n# TYPE a counter\n# EOF\n'],
  ['bad_clashing_names_2', false, '# TYPE a_created gauge\n# TYPE a counter\n# EOF\n'],
  ['bad_counter_values_0', false, '# TYPE a counter\na_total NaN\n# EOF\n'],
  ['bad_counter_values_1', false, '# TYPE a counter\na_total -1\n# EOF\n'],
  ['bad_counter_values_10', false, '# TYPE a gaugehistogram\na_bucket{le="+Inf"} NaN\n# EOF\n'],
  ['bad_counter_values_11', false, '# TYPE a gaugehistogram\na_bucket{le="+Inf"} -1\na_gcount -1\n# EOF\n'],
  ['bad_counter_values_12', false, '# TYPE a gaugehistogram\na_bucket{le="+Inf"} -1\n# EOF\n'],
  ['bad_counter_values_13', false, '# TYPE a gaugehistogram\na_bucket{le="+Inf"} 1\na_gsum -1\n# EOF\n'],
  ['bad_counter_values_14', false, '# TYPE a gaugehistogram\na_bucket{le="+Inf"} 1\na_gsum NaN\n# EOF\n'],
  ['bad_counter_values_15', false, '# TYPE a summary\na_sum NaN\n# EOF\n'],
  ['bad_counter_values_16', false, '# TYPE a summary\na_count NaN\n# EOF\n'],
  ['bad_counter_values_17', false, '# TYPE a summary\na_sum -1\n# EOF\n'],
  ['bad_counter_values_18', false, '# TYPE a summary\na_count -1\n# EOF\n'],
  ['bad_counter_values_19', false, '# TYPE a summary\na{quantile="0.5"} -1\n# EOF\n'],
  ['bad_counter_values_2', false, '# TYPE a histogram\na_sum NaN\n# EOF\n'],
  ['bad_counter_values_3', false, '# TYPE a histogram\na_count NaN\n# EOF\n'],
  ['bad_counter_values_4', false, '# TYPE a histogram\na_bucket{le="+Inf"} NaN\n# EOF\n'],
  ['bad_counter_values_5', false, '# TYPE a histogram\na_sum -1\n# EOF\n'],
  ['bad_counter_values_6', false, '# TYPE a histogram\na_count -1\n# EOF\n'],
  ['bad_counter_values_7', false, '# TYPE a histogram\na_bucket{le="+Inf"} -1\n# EOF\n'],
  [
    'bad_counter_values_8',
    false,
    '# TYPE a histogram\na_bucket{le="-1.0"} 1\na_bucket{le="+Inf"} 2\na_sum -1\n# EOF\n',
  ],
  ['bad_counter_values_9', false, '# TYPE a histogram\na_bucket{le="-1.0"} 1\na_bucket{le="+Inf"} 2\na_sum 1\n# EOF\n'],
  [
    'bad_exemplar_complex_chars',
    false,
    '# TYPE a histogram\na_bucket{le="+Inf"} 1 # {a="O\u0338\u0346\u031b\u0321\u0327\u033b\u0332p\u0335\u0310\u0331\u0330\u0330e\u0338\u030b\u034b\u035d\u033e\u0344\u0327\u031e\u032dn\u0338\u0308\u0341\u030c\u0309\u0310\u0320\u032f\u032d\u0325\u0320M\u0335\u0346\u031b\u030a\u0346\u0350\u031de\u0334\u035b\u030c\u035a\u035at\u0337\u034c\u0315\u031a\u032b\u0327\u035ar\u0335\u030b\u031a\u0355\u0332i\u0336\u035d\u030a\u030a\u0314\u0302\u0324\u0330\u0328\u0325\u033b\u032c\u0329c\u0338\u0300\u035b\u035d\u0315\u030a\u0331\u0316s\u0337\u033d\u030c\u0340\u0301\u0304\u0327789012345678901234567890123456789"} 1 1\n# EOF\n',
  ],
  ['bad_exemplar_timestamp_0', false, '# TYPE a counter\na_total 1 # {a="b"} 0.5 NaN\n# EOF\n'],
  ['bad_exemplar_timestamp_1', false, '# TYPE a counter\na_total 1 # {a="b"} 0.5 Inf\n# EOF\n'],
  ['bad_exemplar_timestamp_2', false, '# TYPE a counter\na_total 1 # {a="b"} 0.5 -Inf\n# EOF\n'],
  ['bad_exemplars_0', false, '# TYPE a histogram\na_bucket{le="+Inf"} 1 #\n# EOF\n'],
  ['bad_exemplars_1', false, '# TYPE a histogram\na_bucket{le="+Inf"} 1# {} 1\n# EOF\n'],
  ['bad_exemplars_10', false, '# TYPE a counter\na_total 1 1 # id="a"} 1\n# EOF\n'],
  ['bad_exemplars_11', false, '# TYPE a counter\na_total 1 1 #id=" # "} 1\n# EOF\n'],
  ['bad_exemplars_12', false, '# TYPE a counter\na_total 1 1 id=" # "} 1\n# EOF\n'],
  ['bad_exemplars_2', false, '# TYPE a histogram\na_bucket{le="+Inf"} 1 #{} 1\n# EOF\n'],
  ['bad_exemplars_3', false, '# TYPE a histogram\na_bucket{le="+Inf"} 1 # {}1\n# EOF\n'],
  ['bad_exemplars_4', false, '# TYPE a histogram\na_bucket{le="+Inf"} 1 # {} 1 \n# EOF\n'],
  ['bad_exemplars_5', false, '# TYPE a histogram\na_bucket{le="+Inf"} 1 # {} 1 1 \n# EOF\n'],
  [
    'bad_exemplars_6',
    false,
    '# TYPE a histogram\na_bucket{le="+Inf"} 1 # {a="23456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"} 1 1\n# EOF\n',
  ],
  ['bad_exemplars_7', false, '# TYPE a histogram\na_bucket{le="+Inf"} 1 # {} 0x1p-3\n# EOF\n'],
  ['bad_exemplars_8', false, '# TYPE a histogram\na_bucket{le="+Inf"} 1 # {} 1 0x1p-3\n# EOF\n'],
  ['bad_exemplars_9', false, '# TYPE a counter\na_total 1 1 # {id="a"}  \n# EOF\n'],
  ['bad_exemplars_on_unallowed_metric_types_0', false, '# TYPE a gauge\na 1 # {a="b"} 1\n# EOF\n'],
  ['bad_exemplars_on_unallowed_metric_types_1', false, '# TYPE a info\na_info 1 # {a="b"} 1\n# EOF\n'],
  ['bad_exemplars_on_unallowed_metric_types_2', false, '# TYPE a stateset\na{a="b"} 1 # {c="d"} 1\n# EOF\n'],
  ['bad_exemplars_on_unallowed_samples_0', false, '# TYPE a histogram\na_sum 1 # {a="b"} 0.5\n# EOF\n'],
  ['bad_exemplars_on_unallowed_samples_1', false, '# TYPE a gaugehistogram\na_sum 1 # {a="b"} 0.5\n# EOF\n'],
  ['bad_exemplars_on_unallowed_samples_2', false, '# TYPE a_bucket gauge\na_bucket 1 # {a="b"} 0.5\n# EOF\n'],
  ['bad_exemplars_on_unallowed_samples_3', false, '# TYPE a counter\na_created 1 # {a="b"} 0.5\n# EOF\n'],
  [
    'bad_grouping_or_ordering_0',
    false,
    '# TYPE a histogram\na_sum{a="1"} 0\na_bucket{a="2",le="+Inf"} 0\na_count{a="2"} 0\na_sum{a="2"} 0\na_bucket{a="1",le="+Inf"} 0\na_count{a="1"} 0\n# EOF\n',
  ],
  [
    'bad_grouping_or_ordering_1',
    false,
    '# TYPE a histogram\na_bucket{a="1",le="1"} 0\na_bucket{a="2",le="+Inf""} 0\na_bucket{a="1",le="+Inf"} 0\n# EOF\n',
  ],
  ['bad_grouping_or_ordering_10', false, '# TYPE a gauge\na 0 0\na 0\n# EOF\n'],
  [
    'bad_grouping_or_ordering_2',
    false,
    '# TYPE a gaugehistogram\na_gsum{a="1"} 0\na_gsum{a="2"} 0\na_gcount{a="1"} 0\n# EOF\n',
  ],
  [
    'bad_grouping_or_ordering_3',
    false,
    '# TYPE a summary\nquantile{quantile="0"} 0\na_sum{a="1"} 0\nquantile{quantile="1"} 0\n# EOF\n',
  ],
  ['bad_grouping_or_ordering_4', false, '# TYPE a gauge\na 0 -1\na 0 -2\n# EOF\n'],
  ['bad_grouping_or_ordering_5', false, '# TYPE a gauge\na 0 -1\na 0 -1.1\n# EOF\n'],
  ['bad_grouping_or_ordering_6', false, '# TYPE a gauge\na 0 1\na 0 -1\n# EOF\n'],
  ['bad_grouping_or_ordering_7', false, '# TYPE a gauge\na 0 1.1\na 0 1\n# EOF\n'],
  ['bad_grouping_or_ordering_8', false, '# TYPE a gauge\na 0 1\na 0 0\n# EOF\n'],
  ['bad_grouping_or_ordering_9', false, '# TYPE a gauge\na 0\na 0 0\n# EOF\n'],
  ['bad_help_0', false, '# HELP\n# EOF\n'],
  ['bad_help_1', false, '# HELP \n# EOF\n'],
  ['bad_help_2', false, '# HELP a\n# EOF\n'],
  ['bad_help_3', false, '# HELP a\t\n# EOF\n'],
  ['bad_help_4', false, ' # HELP a meh\n# EOF\n'],
  ['bad_histograms_0', false, '# TYPE a histogram\na_sum 1\n# EOF\n'],
  ['bad_histograms_1', false, '# TYPE a histogram\na_bucket{le="+Inf"} 0\na_sum 0\n# EOF\n'],
  [
    'bad_histograms_10',
    false,
    '# TYPE a histogram\na_bucket{le="1"} 1\na_bucket{le="2"} 1\na_bucket{le="+Inf"} 0\n# EOF\n',
  ],
  ['bad_histograms_11', false, '# TYPE a histogram\na_bucket{le="+Inf"} 0\na_count 1\n# EOF\n'],
  ['bad_histograms_12', false, '# TYPE a histogram\na_bucket{le="+INF"} 0\n# EOF\n'],
  ['bad_histograms_13', false, '# TYPE a histogram\na_count 1\na_bucket{le="+Inf"} 0\n# EOF\n'],
  ['bad_histograms_14', false, '# TYPE a gaugehistogram\na_bucket{le="+Inf"} 0\na_gcount 0\n# EOF\n'],
  ['bad_histograms_2', false, '# TYPE a histogram\na_bucket{le="+Inf"} 0\na_count 0\n# EOF\n'],
  [
    'bad_histograms_3',
    false,
    '# TYPE a histogram\na_bucket{le="-1"} 0\na_bucket{le="+Inf"} 0\na_sum 0\na_count 0\n# EOF\n',
  ],
  ['bad_histograms_4', false, '# TYPE a histogram\na_bucket{le="+Inf"} 0\n#a_sum 0\n# EOF\n'],
  ['bad_histograms_5', false, '# TYPE a histogram\na_bucket{le="+Inf"} 0\n#a_count 0\n# EOF\n'],
  ['bad_histograms_6', false, '# TYPE a gaugehistogram\na_gsum 1\n# EOF\n'],
  ['bad_histograms_7', false, '# TYPE a gaugehistogram\na_bucket{le="+Inf"} 1\na_gsum -1\na_gcount 1\n# EOF\n'],
  ['bad_histograms_8', false, '# TYPE a gaugehistogram\na_bucket{le="+Inf"} 0\na_gsum 0\n# EOF\n'],
  [
    'bad_histograms_9',
    false,
    '# TYPE a histogram\na_bucket{le="2"} 0\na_bucket{le="1"} 0\na_bucket{le="+Inf"} 0\n# EOF\n',
  ],
  ['bad_info_and_stateset_values_0', false, '# TYPE a info\na_info{foo="bar"} 2\n# EOF\n'],
  ['bad_info_and_stateset_values_1', false, '# TYPE a stateset\na{a="bar"} 2\n# EOF\n'],
  ['bad_invalid_labels_0', false, 'a{1="1"} 1\n# EOF\n'],
  ['bad_invalid_labels_1', false, 'a{1="1"}1\n# EOF\n'],
  ['bad_invalid_labels_2', false, 'a{a="1",a="1"} 1\n# EOF\n'],
  ['bad_invalid_labels_3', false, 'a{a="1"b} 1\n# EOF\n'],
  ['bad_invalid_labels_4', false, 'a{1=" # "} 1\n# EOF\n'],
  ['bad_invalid_labels_5', false, 'a{a=" # ",a=" # "} 1\n# EOF\n'],
  ['bad_invalid_labels_6', false, 'a{a=" # "}1\n# EOF\n'],
  ['bad_invalid_labels_7', false, 'a{a=" # ",b=}1\n# EOF\n'],
  ['bad_invalid_labels_8', false, 'a{a=" # "b}1\n# EOF\n'],
  ['bad_metadata', false, '# FOO a x\n# EOF\n'],
  ['bad_metadata_in_wrong_place_0', false, '# HELP a x\na 1\n# TYPE a gauge\n# EOF\n'],
  ['bad_metadata_in_wrong_place_1', false, '# TYPE a gauge\na 1\n# HELP a gauge\n# EOF\n'],
  ['bad_metadata_in_wrong_place_2', false, '# TYPE a_s gauge\na_s 1\n# UNIT a_s s\n# EOF\n'],
  ['bad_metric_names_0', false, '0a 1\n# EOF\n'],
  ['bad_metric_names_1', false, 'a.b 1\n# EOF\n'],
  ['bad_metric_names_2', false, 'a-b 1\n# EOF\n'],
  ['bad_missing_equal_or_label_value_0', false, 'a{a} 1\n# EOF\n'],
  ['bad_missing_equal_or_label_value_1', false, 'a{a"value"} 1\n# EOF\n'],
  ['bad_missing_equal_or_label_value_2', false, 'a{a""} 1\n# EOF\n'],
  ['bad_missing_equal_or_label_value_3', false, 'a{a=} 1\n# EOF\n'],
  ['bad_missing_equal_or_label_value_4', false, 'a{a="} 1\n# EOF\n'],
  ['bad_missing_or_extra_commas_0', false, 'a{a="1"b="2"} 1\n# EOF\n'],
  ['bad_missing_or_extra_commas_1', false, 'a{a="1",,b="2"} 1\n# EOF\n'],
  ['bad_missing_or_extra_commas_2', false, 'a{a="1",b="2",} 1\n# EOF\n'],
  ['bad_missing_or_invalid_labels_for_a_type_0', false, '# TYPE a summary\na 0\n# EOF\n'],
  ['bad_missing_or_invalid_labels_for_a_type_1', false, '# TYPE a summary\na{quantile="-1"} 0\n# EOF\n'],
  ['bad_missing_or_invalid_labels_for_a_type_2', false, '# TYPE a summary\na{quantile="foo"} 0\n# EOF\n'],
  ['bad_missing_or_invalid_labels_for_a_type_3', false, '# TYPE a summary\na{quantile="1.01"} 0\n# EOF\n'],
  ['bad_missing_or_invalid_labels_for_a_type_4', false, '# TYPE a summary\na{quantile="NaN"} 0\n# EOF\n'],
  ['bad_missing_or_invalid_labels_for_a_type_5', false, '# TYPE a histogram\na_bucket 0\n# EOF\n'],
  ['bad_missing_or_invalid_labels_for_a_type_6', false, '# TYPE a gaugehistogram\na_bucket 0\n# EOF\n'],
  ['bad_missing_or_invalid_labels_for_a_type_7', false, '# TYPE a stateset\na 0\n# EOF\n'],
  ['bad_missing_or_wrong_quotes_on_label_value_0', false, 'a{a=1} 1\n# EOF\n'],
  ['bad_missing_or_wrong_quotes_on_label_value_1', false, 'a{a="1} 1\n# EOF\n'],
  ['bad_missing_or_wrong_quotes_on_label_value_2', false, "a{a='1'} 1\n# EOF\n"],
  ['bad_missing_value_0', false, 'a\n# EOF\n'],
  ['bad_missing_value_1', false, 'a \n# EOF\n'],
  ['bad_no_eof', false, ''],
  ['bad_repeated_metadata_0', false, '# HELP a \n# HELP a \n# EOF\n'],
  ['bad_repeated_metadata_1', false, '# HELP a x\n# HELP a x\n# EOF\n'],
  ['bad_repeated_metadata_2', false, '# TYPE a untyped\n# TYPE a untyped\n# EOF\n'],
  ['bad_repeated_metadata_3', false, '# UNIT a_s s\n# UNIT a_s s\n# EOF\n'],
  ['bad_stateset_info_values_0', false, '# TYPE a stateset\na 2\n# EOF\n'],
  ['bad_stateset_info_values_1', false, '# TYPE a info\na 2\n# EOF\n'],
  ['bad_stateset_info_values_2', false, '# TYPE a stateset\na 2.0\n# EOF\n'],
  ['bad_stateset_info_values_3', false, '# TYPE a info\na 2.0\n# EOF\n'],
  ['bad_text_after_eof_0', false, 'a 1\n# EOF\nblah'],
  ['bad_text_after_eof_1', false, 'a 1\n# EOFblah'],
  ['bad_timestamp_0', false, 'a 1 z\n# EOF\n'],
  ['bad_timestamp_1', false, 'a 1 1z\n# EOF\n'],
  ['bad_timestamp_2', false, 'a 1 1_2\n# EOF\n'],
  ['bad_timestamp_3', false, 'a 1 1.1.1\n# EOF\n'],
  ['bad_timestamp_4', false, 'a 1 NaN\n# EOF\n'],
  ['bad_timestamp_5', false, 'a 1 Inf\n# EOF\n'],
  ['bad_timestamp_6', false, 'a 1  Inf\n# EOF\n'],
  ['bad_timestamp_7', false, 'a 1 -Inf\n# EOF\n'],
  ['bad_timestamp_8', false, 'a 1 0x1p-3\n# EOF\n'],
  ['bad_type_0', false, '# TYPE\n# EOF\n'],
  ['bad_type_1', false, '# TYPE \n# EOF\n'],
  ['bad_type_2', false, '# TYPE a\n# EOF\n'],
  ['bad_type_3', false, '# TYPE a\t\n# EOF\n'],
  ['bad_type_4', false, '# TYPE a meh\n# EOF\n'],
  ['bad_type_5', false, '# TYPE a meh \n# EOF\n'],
  ['bad_type_6', false, '# TYPE a gauge \n# EOF\n'],
  ['bad_type_7', false, '# TYPE a untyped\n# EOF\n'],
  ['bad_unit_0', false, '# UNIT\n# EOF\n'],
  ['bad_unit_1', false, '# UNIT \n# EOF\n'],
  ['bad_unit_2', false, '# UNIT a\n# EOF\n'],
  ['bad_unit_3', false, '# UNIT a\t\n# EOF\n'],
  ['bad_unit_4', false, '# UNIT a seconds\n# EOF\n'],
  ['bad_unit_5', false, '# UNIT a_seconds seconds \n# EOF\n'],
  ['bad_unit_6', false, '# TYPE x_u info\n# UNIT x_u u\n# EOF\n'],
  ['bad_unit_7', false, '# TYPE x_u stateset\n# UNIT x_u u\n# EOF\n'],
  ['bad_value_0', false, 'a a\n# EOF\n'],
  ['bad_value_1', false, 'a  1\n# EOF\n'],
  ['bad_value_10', false, 'a 0X1\n# EOF\n'],
  ['bad_value_11', false, 'a 0o1\n# EOF\n'],
  ['bad_value_12', false, 'a 0O1\n# EOF\n'],
  ['bad_value_2', false, 'a 1\t\n# EOF\n'],
  ['bad_value_3', false, 'a 1 \n# EOF\n'],
  ['bad_value_4', false, 'a 1_2\n# EOF\n'],
  ['bad_value_5', false, 'a 0x1p-3\n# EOF\n'],
  ['bad_value_6', false, 'a 0x1P-3\n# EOF\n'],
  ['bad_value_7', false, 'a 0b1\n# EOF\n'],
  ['bad_value_8', false, 'a 0B1\n# EOF\n'],
  ['bad_value_9', false, 'a 0x1\n# EOF\n'],
  ['counter_exemplars', true, '# TYPE a counter\n# HELP a help\na_total 0 123 # {a="b"} 0.5\n# EOF\n'],
  ['counter_exemplars_empty_brackets', true, '# TYPE a counter\n# HELP a help\na_total{} 0 123 # {a="b"} 0.5\n# EOF\n'],
  [
    'counter_unit',
    true,
    '# HELP cc_seconds A counter\n# TYPE cc_seconds counter\n# UNIT cc_seconds seconds\ncc_seconds_total 1.0\ncc_seconds_created 123.456\n# EOF\n',
  ],
  [
    'duplicate_timestamps_0',
    true,
    '# TYPE a gauge\n# HELP a help\na{a="1",foo="bar"} 1 0.0000000000\na{a="1",foo="bar"} 2 0.0000000001\na{a="1",foo="bar"} 3 0.0000000010\na{a="2",foo="bar"} 4 0.0000000000\na{a="2",foo="bar"} 5 0.0000000001\n# EOF\n',
  ],
  [
    'duplicate_timestamps_1',
    true,
    '# TYPE a gauge\n# HELP a help\na{a="1",foo="bar"} 1 0\na{a="1",foo="bar"} 2 0\na{a="1",foo="bar"} 3 0\na{a="2",foo="bar"} 4 0\na{a="2",foo="bar"} 5 0\n# EOF\n',
  ],
  ['empty_brackets', true, '# TYPE a counter\n# HELP a help\na_total{} 1\n# EOF\n'],
  ['empty_help', true, '# TYPE a counter\n# HELP a \na_total 1\n# EOF\n'],
  ['empty_label', true, '# TYPE a counter\n# HELP a help\na_total{foo="bar"} 1\na_total{foo=""} 2\n# EOF\n'],
  ['empty_metadata', true, '# HELP a \n# UNIT a \n# EOF\n'],
  [
    'escaping',
    true,
    '# TYPE a counter\n# HELP a he\\n\\\\l\\tp\na_total{foo="b\\"a\\nr"} 1\na_total{foo="b\\\\a\\z"} 2\na_total{foo="b\\"a\\nr # "} 3\na_total{foo="b\\\\a\\z # "} 4\n# EOF\n',
  ],
  [
    'exemplars_wide_chars',
    true,
    '# TYPE a histogram\na_bucket{le="+Inf"} 1 # {a="\u2603345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678"} 1 1\n# EOF\n',
  ],
  [
    'exemplars_with_hash_in_label_values',
    true,
    '# TYPE a histogram\n# HELP a help\na_bucket{le="1.0",foo="bar # "} 0 # {a="b",foo="bar # bar"} 0.5\na_bucket{le="2.0",foo="bar # "} 2 # {a="c",foo="bar # bar"} 0.5\na_bucket{le="+Inf",foo="bar # "} 3 # {a="d",foo="bar # bar"} 4\n# EOF\n',
  ],
  ['float_gauge', true, '# TYPE a gauge\n# HELP a help\na 1.2\n# EOF\n'],
  [
    'gaugehistogram_exemplars',
    true,
    '# TYPE a gaugehistogram\n# HELP a help\na_bucket{le="1.0"} 0 123 # {a="b"} 0.5\na_bucket{le="2.0"} 2 123 # {a="c"} 0.5\na_bucket{le="+Inf"} 3 123 # {a="d"} 4 123\n# EOF\n',
  ],
  [
    'hash_in_label_value',
    true,
    '# TYPE a counter\n# HELP a help\na_total{foo="foo # bar"} 1\na_total{foo="} foo # bar # "} 1\n# EOF\n',
  ],
  [
    'help_escaping',
    true,
    '# TYPE a0 counter\n# HELP a0 foo\na0_total{foo="bar"} 1\n# TYPE a1 counter\n# HELP a1 \\foo\na1_total{foo="bar"} 1\n# TYPE a2 counter\n# HELP a2 \\\\foo\na2_total{foo="bar"} 1\n# TYPE a3 counter\n# HELP a3 foo\\\\\na3_total{foo="bar"} 1\n# TYPE a4 counter\n# HELP a4 \\\\\na4_total{foo="bar"} 1\n# TYPE a5 counter\n# HELP a5 \\n\na5_total{foo="bar"} 1\n# TYPE a6 counter\n# HELP a6 \\\\n\na6_total{foo="bar"} 1\n# TYPE a7 counter\n# HELP a7 \\\\\\n\na7_total{foo="bar"} 1\n# TYPE a8 counter\n# HELP a8 \\"\na8_total{foo="bar"} 1\n# TYPE a9 counter\n# HELP a9 \\\\"\na9_total{foo="bar"} 1\n# EOF\n',
  ],
  [
    'histogram_exemplars',
    true,
    '# TYPE a histogram\n# HELP a help\na_bucket{le="1.0"} 0 # {a="b"} 0.5\na_bucket{le="2.0"} 2 # {a="c"} 0.5\na_bucket{le="+Inf"} 3 # {a="2345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678"} 4 123\n# EOF\n',
  ],
  [
    'histogram_noncanonical',
    true,
    '# TYPE a histogram\n# HELP a help\na_bucket{le="0"} 0\na_bucket{le="0.00000000001"} 0\na_bucket{le="0.0000000001"} 0\na_bucket{le="1e-04"} 0\na_bucket{le="1.1e-4"} 0\na_bucket{le="1.1e-3"} 0\na_bucket{le="1.1e-2"} 0\na_bucket{le="1"} 0\na_bucket{le="1e+05"} 0\na_bucket{le="10000000000"} 0\na_bucket{le="100000000000.0"} 0\na_bucket{le="+Inf"} 3\na_count 3\na_sum 2\n# EOF\n',
  ],
  [
    'info_timestamps',
    true,
    '# TYPE a info\n# HELP a help\na_info{a="1",foo="bar"} 1 1\na_info{a="2",foo="bar"} 1 0\n# EOF\n',
  ],
  [
    'label_escaping',
    true,
    '# TYPE a0 counter\n# HELP a0 help\na0_total{foo="foo",bar="baz"} 1\n# TYPE a1 counter\n# HELP a1 help\na1_total{foo="\\foo",bar="baz"} 1\n# TYPE a2 counter\n# HELP a2 help\na2_total{foo="\\\\foo",bar="baz"} 1\n# TYPE a3 counter\n# HELP a3 help\na3_total{foo="foo\\\\",bar="baz"} 1\n# TYPE a4 counter\n# HELP a4 help\na4_total{foo="\\\\",bar="baz"} 1\n# TYPE a5 counter\n# HELP a5 help\na5_total{foo="\\n",bar="baz"} 1\n# TYPE a6 counter\n# HELP a6 help\na6_total{foo="\\\\n",bar="baz"} 1\n# TYPE a7 counter\n# HELP a7 help\na7_total{foo="\\\\\\n",bar="baz"} 1\n# TYPE a8 counter\n# HELP a8 help\na8_total{foo="\\"",bar="baz"} 1\n# TYPE a9 counter\n# HELP a9 help\na9_total{foo="\\\\\\"",bar="baz"} 1\n# EOF\n',
  ],
  ['labels_and_infinite', true, '# TYPE a gauge\n# HELP a help\na{foo="bar"} +Inf\na{foo="baz"} -Inf\n# EOF\n'],
  ['labels_with_curly_braces', true, '# TYPE a counter\n# HELP a help\na_total{foo="bar",bar="b{a}z"} 1\n# EOF\n'],
  [
    'leading_zeros_float_gauge',
    true,
    '# TYPE a gauge\n# HELP a help\na 0000000000000000000000000000000000000000001.2e-1\n# EOF\n',
  ],
  [
    'leading_zeros_simple_gauge',
    true,
    '# TYPE a gauge\n# HELP a help\na 0000000000000000000000000000000000000000001\n# EOF\n',
  ],
  ['nan', true, 'a NaN\n# EOF\n'],
  ['nan_gauge', true, '# TYPE a gauge\n# HELP a help\na NaN\n# EOF\n'],
  [
    'negative_bucket_gaugehistogram',
    true,
    '# TYPE a gaugehistogram\n# HELP a help\na_bucket{le="-1.0"} 1\na_bucket{le="1.0"} 2\na_bucket{le="+Inf"} 3\na_gcount 3\na_gsum -5\n# EOF\n',
  ],
  [
    'negative_bucket_histogram',
    true,
    '# TYPE a histogram\n# HELP a help\na_bucket{le="-1.0"} 0\na_bucket{le="1.0"} 1\na_bucket{le="+Inf"} 3\n# EOF\n',
  ],
  ['no_metadata', true, 'a 1\n# EOF\n'],
  ['no_newline_after_eof', true, '# TYPE a gauge\n# HELP a help\na 1\n# EOF'],
  ['null_byte', true, '# TYPE a counter\n# HELP a he\u0000lp\n# EOF\n'],
  [
    'roundtrip',
    true,
    '# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds{quantile="0.0"} 0.013300656000000001\ngo_gc_duration_seconds{quantile="0.25"} 0.013638736\ngo_gc_duration_seconds{quantile="0.5"} 0.013759906\ngo_gc_duration_seconds{quantile="0.75"} 0.013962066\ngo_gc_duration_seconds{quantile="1.0"} 0.021383540000000003\ngo_gc_duration_seconds_sum 56.12904785\ngo_gc_duration_seconds_count 7476.0\n# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 166.0\n# HELP prometheus_local_storage_indexing_batch_duration_milliseconds Quantiles for batch indexing duration in milliseconds.\n# TYPE prometheus_local_storage_indexing_batch_duration_milliseconds summary\nprometheus_local_storage_indexing_batch_duration_milliseconds{quantile="0.5"} NaN\nprometheus_local_storage_indexing_batch_duration_milliseconds{quantile="0.9"} NaN\nprometheus_local_storage_indexing_batch_duration_milliseconds{quantile="0.99"} NaN\nprometheus_local_storage_indexing_batch_duration_milliseconds_sum 871.5665949999999\nprometheus_local_storage_indexing_batch_duration_milliseconds_count 229.0\n# HELP process_cpu_seconds Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total 29323.4\n# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes 2.478268416e+09\n# HELP prometheus_build_info A metric with a constant \'1\' value labeled by version, revision, and branch from which Prometheus was built.\n# TYPE prometheus_build_info gauge\nprometheus_build_info{branch="HEAD",revision="ef176e5",version="0.16.0rc1"} 1.0\n# HELP prometheus_local_storage_chunk_ops The total number of chunk operations by their type.\n# TYPE prometheus_local_storage_chunk_ops counter\nprometheus_local_storage_chunk_ops_total{type="clone"} 28.0\nprometheus_local_storage_chunk_ops_total{type="create"} 997844.0\nprometheus_local_storage_chunk_ops_total{type="drop"} 1.345758e+06\nprometheus_local_storage_chunk_ops_total{type="load"} 1641.0\nprometheus_local_storage_chunk_ops_total{type="persist"} 981408.0\nprometheus_local_storage_chunk_ops_total{type="pin"} 32662.0\nprometheus_local_storage_chunk_ops_total{type="transcode"} 980180.0\nprometheus_local_storage_chunk_ops_total{type="unpin"} 32662.0\n# HELP foo histogram Testing histogram buckets\n# TYPE foo histogram\nfoo_bucket{le="0.0"} 0.0\nfoo_bucket{le="1e-05"} 0.0\nfoo_bucket{le="0.0001"} 0.0\nfoo_bucket{le="0.1"} 8.0\nfoo_bucket{le="1.0"} 10.0\nfoo_bucket{le="10.0"} 17.0\nfoo_bucket{le="100000.0"} 17.0\nfoo_bucket{le="1e+06"} 17.0\nfoo_bucket{le="1.55555555555552e+06"} 17.0\nfoo_bucket{le="1e+23"} 17.0\nfoo_bucket{le="+Inf"} 17.0\nfoo_count 17.0\nfoo_sum 324789.3\nfoo_created 1.520430000123e+09\n# HELP bar histogram Testing with labels\n# TYPE bar histogram\nbar_bucket{a="b",le="+Inf"} 0.0\nbar_bucket{a="c",le="+Inf"} 0.0\n# EOF\n',
  ],
  ['simple_counter', true, '# TYPE a counter\n# HELP a help\na_total 1\n# EOF\n'],
  ['simple_gauge', true, '# TYPE a gauge\n# HELP a help\na 1\n# EOF\n'],
  [
    'simple_gaugehistogram',
    true,
    '# TYPE a gaugehistogram\n# HELP a help\na_bucket{le="1.0"} 0\na_bucket{le="+Inf"} 3\na_gcount 3\na_gsum 2\n# EOF\n',
  ],
  [
    'simple_histogram',
    true,
    '# TYPE a histogram\n# HELP a help\na_bucket{le="1.0"} 0\na_bucket{le="+Inf"} 3\na_count 3\na_sum 2\n# EOF\n',
  ],
  ['simple_stateset', true, '# TYPE a stateset\n# HELP a help\na{a="bar"} 0\na{a="foo"} 1.0\n# EOF\n'],
  ['simple_summary', true, '# TYPE a summary\n# HELP a help\na_count 1\na_sum 2\n# EOF\n'],
  [
    'summary_quantiles',
    true,
    '# TYPE a summary\n# HELP a help\na_count 1\na_sum 2\na{quantile="0.5"} 0.7\na{quantile="1"} 0.8\n# EOF\n',
  ],
  [
    'timestamps',
    true,
    '# TYPE a counter\n# HELP a help\na_total{foo="1"} 1 000\na_total{foo="2"} 1 0.0\na_total{foo="3"} 1 1.1\na_total{foo="4"} 1 12345678901234567890.1234567890\na_total{foo="5"} 1 1.5e3\n# TYPE b counter\n# HELP b help\nb_total 2 1234567890\n# EOF\n',
  ],
  ['type_help_switched', true, '# HELP a help\n# TYPE a counter\na_total 1\n# EOF\n'],
  ['uint64_counter', true, '# TYPE a counter\n# HELP a help\na_total 9223372036854775808\n# EOF\n'],
  ['unit_gauge', true, '# TYPE a_seconds gauge\n# UNIT a_seconds seconds\n# HELP a_seconds help\na_seconds 1\n# EOF\n'],
  [
    'untyped',
    true,
    '# HELP redis_connected_clients Redis connected clients\n# TYPE redis_connected_clients unknown\nredis_connected_clients{instance="rough-snowflake-web",port="6380"} 10.0\nredis_connected_clients{instance="rough-snowflake-web",port="6381"} 12.0\n# EOF\n',
  ],
];

for (const [name, ok, input] of suite) {
  test(`OpenMetrics test suite: ${name} ${ok ? 'parses' : 'is rejected'}`, () => {
    if (ok) assert.doesNotThrow(() => parseOpenMetrics(input));
    else assert.throws(() => parseOpenMetrics(input), OpenMetricsParseError);
  });
}

// --- Mapping onto the model ------------------------------------------------------------------

interface Case {
  name: string;
  input: string;
  want: MetricFamily[];
}

const cases: Case[] = [
  {
    name: 'counter x → counter family x_total; _created → created timestamp; exemplar kept',
    input:
      '# TYPE x counter\n# HELP x Things.\n' +
      'x_total{a="1"} 3 # {trace="t"} 1.5 1700000000.25\nx_created{a="1"} 1600000000.5\n' +
      'x_total{a="2"} 0\n# EOF\n',
    want: [
      {
        name: 'x_total',
        help: 'Things.',
        type: 'counter',
        metrics: [
          {
            labels: L({ a: '1' }),
            value: 3,
            counter: {
              value: 3,
              exemplar: { labels: L({ trace: 't' }), value: 1.5, timestamp: { seconds: 1700000000, nanos: 250000000 } },
              createdTimestamp: { seconds: 1600000000, nanos: 500000000 },
            },
          },
          { labels: L({ a: '2' }), value: 0 },
        ],
      },
    ],
  },
  {
    name: 'a counter family already named x_total gets x_total_total, as OpenMetrics names it',
    input: '# TYPE x_total counter\nx_total_total 1\n# EOF\n',
    want: [{ name: 'x_total_total', type: 'counter', metrics: [{ labels: [], value: 1 }] }],
  },
  {
    name: 'gauge, unknown and samples without metadata',
    input: '# TYPE g gauge\ng{b="2",a="1"} -1.5\n# TYPE u unknown\nu 1\nbare NaN\n# EOF\n',
    want: [
      {
        name: 'g',
        type: 'gauge',
        metrics: [
          {
            labels: [
              { name: 'b', value: '2' },
              { name: 'a', value: '1' },
            ],
            value: -1.5,
          },
        ],
      },
      { name: 'u', type: 'untyped', metrics: [{ labels: [], value: 1 }] },
      { name: 'bare', type: 'untyped', metrics: [{ labels: [], value: NaN }] },
    ],
  },
  {
    name: 'summary: quantiles, _sum, _count, _created',
    input:
      '# TYPE s summary\ns{quantile="0.5",m="get"} 0.1\ns{quantile="0.99",m="get"} 0.7\ns_sum{m="get"} 12.5\ns_count{m="get"} 100\n' +
      's_created{m="get"} 1.5e9\ns_count{m="put"} 0\ns_sum{m="put"} 0\n# EOF\n',
    want: [
      {
        name: 's',
        type: 'summary',
        metrics: [
          {
            labels: L({ m: 'get' }),
            summary: {
              sampleCount: 100,
              sampleSum: 12.5,
              quantiles: [
                { quantile: 0.5, value: 0.1 },
                { quantile: 0.99, value: 0.7 },
              ],
              createdTimestamp: { seconds: 1500000000, nanos: 0 },
            },
          },
          { labels: L({ m: 'put' }), summary: { sampleCount: 0, sampleSum: 0, quantiles: [] } },
        ],
      },
    ],
  },
  {
    name: 'histogram: buckets (+Inf kept), _count, _sum, _created, bucket exemplars',
    input:
      '# TYPE h histogram\n# UNIT h_seconds seconds\n'.replace('# UNIT h_seconds seconds\n', '') +
      'h_bucket{le="0.1"} 1 # {id="a"} 0.05\nh_bucket{le="1.0"} 3\nh_bucket{le="+Inf"} 4\nh_count 4\nh_sum 2.25\nh_created 10\n# EOF\n',
    want: [
      {
        name: 'h',
        type: 'histogram',
        metrics: [
          {
            labels: [],
            histogram: {
              sampleCount: 4,
              sampleSum: 2.25,
              buckets: [
                { upperBound: 0.1, cumulativeCount: 1, exemplar: { labels: L({ id: 'a' }), value: 0.05 } },
                { upperBound: 1, cumulativeCount: 3 },
                { upperBound: Infinity, cumulativeCount: 4 },
              ],
              createdTimestamp: { seconds: 10, nanos: 0 },
            },
          },
        ],
      },
    ],
  },
  {
    name: 'histogram without _count and _sum: the count is the +Inf bucket, the sum 0',
    input: '# TYPE h histogram\nh_bucket{le="-1"} 1\nh_bucket{le="+Inf"} 2\n# EOF\n',
    want: [
      {
        name: 'h',
        type: 'histogram',
        metrics: [
          {
            labels: [],
            histogram: {
              sampleCount: 2,
              sampleSum: 0,
              buckets: [
                { upperBound: -1, cumulativeCount: 1 },
                { upperBound: Infinity, cumulativeCount: 2 },
              ],
            },
          },
        ],
      },
    ],
  },
  {
    name: 'gaugehistogram: _gsum and _gcount',
    input: '# TYPE q gaugehistogram\nq_bucket{le="1.0"} 4\nq_bucket{le="+Inf"} 5\nq_gcount 5\nq_gsum 7\n# EOF\n',
    want: [
      {
        name: 'q',
        type: 'gaugehistogram',
        metrics: [
          {
            labels: [],
            histogram: {
              sampleCount: 5,
              sampleSum: 7,
              buckets: [
                { upperBound: 1, cumulativeCount: 4 },
                { upperBound: Infinity, cumulativeCount: 5 },
              ],
            },
          },
        ],
      },
    ],
  },
  {
    name: 'info x → gauge x_info with value 1',
    input: '# TYPE build info\n# HELP build Build.\nbuild_info{version="1.2",rev="abc"} 1.0\n# EOF\n',
    want: [
      {
        name: 'build_info',
        help: 'Build.',
        type: 'gauge',
        metrics: [{ labels: L({ version: '1.2', rev: 'abc' }), value: 1 }],
      },
    ],
  },
  {
    name: 'stateset → gauge, one series per state',
    input: '# TYPE state stateset\nstate{state="a",job="j"} 0\nstate{state="b",job="j"} 1.0\n# EOF\n',
    want: [
      {
        name: 'state',
        type: 'gauge',
        metrics: [
          { labels: L({ state: 'a', job: 'j' }), value: 0 },
          { labels: L({ state: 'b', job: 'j' }), value: 1 },
        ],
      },
    ],
  },
  {
    name: '# UNIT → unit (an empty unit too); a counter keeps it',
    input:
      '# TYPE io_bytes counter\n# UNIT io_bytes bytes\nio_bytes_total 1024\n# TYPE t gauge\n# UNIT t \nt 1\n# EOF\n',
    want: [
      { name: 'io_bytes_total', unit: 'bytes', type: 'counter', metrics: [{ labels: [], value: 1024 }] },
      { name: 't', unit: '', type: 'gauge', metrics: [{ labels: [], value: 1 }] },
    ],
  },
  {
    name: 'escapes in HELP and label values; unknown escapes stay as written',
    input: '# HELP e a\\\\b\\nc\\"d\\t\n# TYPE e gauge\ne{l="x\\"y\\\\z\\nw\\q"} 1\n# EOF\n',
    want: [
      { name: 'e', help: 'a\\b\nc"d\\t', type: 'gauge', metrics: [{ labels: L({ l: 'x"y\\z\nw\\q' }), value: 1 }] },
    ],
  },
  {
    name: 'sample timestamps (seconds) → timestampMs, truncated to the millisecond',
    input:
      '# TYPE g gauge\ng{a="1"} 1 1.5\ng{a="2"} 1 1.2349\ng{a="3"} 1 -1.5\ng{a="4"} 1 1e3\ng{a="5"} 1 1700000000.001\n# EOF\n',
    want: [
      {
        name: 'g',
        type: 'gauge',
        metrics: [
          { labels: L({ a: '1' }), value: 1, timestampMs: 1500 },
          { labels: L({ a: '2' }), value: 1, timestampMs: 1234 },
          { labels: L({ a: '3' }), value: 1, timestampMs: -1500 },
          { labels: L({ a: '4' }), value: 1, timestampMs: 1000000 },
          { labels: L({ a: '5' }), value: 1, timestampMs: 1700000000001 },
        ],
      },
    ],
  },
  {
    name: 'a metric with several timestamped points gives one metric per point',
    input: '# TYPE c counter\nc_total 1 10\nc_total 2 20\n# EOF\n',
    want: [
      {
        name: 'c_total',
        type: 'counter',
        metrics: [
          { labels: [], value: 1, timestampMs: 10000 },
          { labels: [], value: 2, timestampMs: 20000 },
        ],
      },
    ],
  },
  {
    name: 'families without samples are left out; # EOF without a final newline',
    input: '# TYPE a counter\n# HELP a nothing\n# TYPE b gauge\nb 2\n# EOF',
    want: [{ name: 'b', type: 'gauge', metrics: [{ labels: [], value: 2 }] }],
  },
  {
    name: 'numbers: infinities, leading zeros, exponents, large integers',
    input:
      '# TYPE g gauge\ng{a="1"} +Inf\ng{a="2"} -infinity\ng{a="3"} 007\ng{a="4"} .5e-3\ng{a="5"} 9223372036854775808\n# EOF\n',
    want: [
      {
        name: 'g',
        type: 'gauge',
        metrics: [
          { labels: L({ a: '1' }), value: Infinity },
          { labels: L({ a: '2' }), value: -Infinity },
          { labels: L({ a: '3' }), value: 7 },
          { labels: L({ a: '4' }), value: 0.0005 },
          { labels: L({ a: '5' }), value: 9223372036854775808 },
        ],
      },
    ],
  },
  { name: 'an empty exposition', input: '# EOF\n', want: [] },
];

for (const c of cases) test(`parse: ${c.name}`, () => assert.deepEqual(parseOpenMetrics(c.input), c.want));

// --- Errors ----------------------------------------------------------------------------------

const E = (line: number, msg: string) => `openmetrics format parsing error in line ${line}: ${msg}`;
const errors: Array<[string, string, string]> = [
  ['no # EOF', 'a 1\n', E(2, 'missing "# EOF" at the end of the input')],
  ['empty body', '', E(1, 'missing "# EOF" at the end of the input')],
  ['text after # EOF', 'a 1\n# EOF\n\n', E(3, 'unexpected content after "# EOF"')],
  ['a sample after # EOF', '# EOF\na 1\n', E(2, 'unexpected content after "# EOF"')],
  ['blank line', 'a 1\n\n# EOF\n', E(2, 'blank line')],
  ['CRLF', 'a 1\r\n# EOF\n', E(1, 'carriage return at the end of the line (lines must end in "\\n" only)')],
  ['BOM', '\ufeffa 1\n# EOF\n', E(1, 'byte order mark at the start of the body')],
  [
    'plain comment',
    '# hello world\n# EOF\n',
    E(1, 'invalid comment line: only "# HELP", "# TYPE", "# UNIT" and "# EOF" lines may start with "#"'),
  ],
  ['untyped', '# TYPE a untyped\na 1\n# EOF\n', E(1, 'unknown metric type "untyped" (OpenMetrics calls it "unknown")')],
  [
    'counter sample without _total',
    '# TYPE a counter\na 1\n# EOF\n',
    E(2, 'sample name "a" is not one of the counter "a", whose samples are named a_total, a_created'),
  ],
  [
    'family split in two',
    'a 1\nb 1\na{x="y"} 2\n# EOF\n',
    E(3, 'second metric family "a": the lines of a family must be consecutive'),
  ],
  [
    'clash with an earlier family',
    '# TYPE a counter\na_total 1\n# TYPE a_created gauge\na_created 1\n# EOF\n',
    E(3, 'metric family "a_created" clashes with the samples of the counter "a" before'),
  ],
  [
    'metadata after samples',
    '# TYPE a gauge\na 1\n# HELP a late\n# EOF\n',
    E(3, '# HELP line for "a" after its samples'),
  ],
  ['second HELP', '# HELP a x\n# HELP a y\n# EOF\n', E(2, 'second # HELP line for "a"')],
  [
    'unit not a suffix',
    '# UNIT a seconds\n# EOF\n',
    E(1, 'unit "seconds" is not a suffix of the metric name "a" (it must end in "_seconds")'),
  ],
  ['invalid value', 'a 1,5\n# EOF\n', E(1, 'invalid value in sample "a" "1,5"')],
  ['timestamp out of range', 'a 1 1e400\n# EOF\n', E(1, 'timestamp "1e400" of a is out of range')],
  ['invalid timestamp', 'a 1 12:00\n# EOF\n', E(1, 'invalid timestamp in sample "a" "12:00"')],
  ['duplicate series', 'a{x="1"} 1\na{x="1"} 2\n# EOF\n', E(2, 'duplicate sample a{x="1"}')],
  [
    'interleaved metrics',
    '# TYPE h histogram\nh_bucket{x="1",le="+Inf"} 1\nh_bucket{x="2",le="+Inf"} 1\nh_count{x="1"} 1\n# EOF\n',
    E(4, 'h_count{x="1"} belongs to a metric whose samples came before: the samples of a metric must be consecutive'),
  ],
  [
    'histogram without +Inf bucket',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 1\n# EOF\n',
    E(2, 'histogram h has no bucket with le="+Inf"'),
  ],
  ['negative counter', '# TYPE c counter\nc_total -1\n# EOF\n', E(2, 'c_total must not be negative')],
  ['fractional count', '# TYPE s summary\ns_count 1.5\ns_sum 1\n# EOF\n', E(2, 's_count must be an integer')],
  [
    'exemplar on a gauge',
    '# TYPE g gauge\ng 1 # {a="b"} 1\n# EOF\n',
    E(2, 'exemplar on g: only counter _total samples and histogram buckets may have exemplars'),
  ],
  ['_created without _total', '# TYPE c counter\nc_created 1\n# EOF\n', E(2, 'counter c has no c_total sample')],
  [
    '_created not finite',
    '# TYPE c counter\nc_total 1\nc_created +Inf\n# EOF\n',
    E(3, 'c_created must be a finite number of seconds'),
  ],
  ['stateset value', '# TYPE s stateset\ns{s="a"} 0.5\n# EOF\n', E(2, 'stateset sample s{s="a"} must be 0 or 1')],
  [
    'quoted names (OpenMetrics 2.0)',
    '{"a.b"} 1\n# EOF\n',
    E(1, 'a sample must start with its metric name (names inside the braces are not supported in OpenMetrics 1.0)'),
  ],
  ['label value not closed', 'a{x="1} 1\n# EOF\n', E(1, 'unterminated value of label "x" in sample "a"')],
];

for (const [name, input, message] of errors) {
  test(`error: ${name}`, () => {
    assert.throws(
      () => parseOpenMetrics(input),
      (e: unknown) => {
        assert.ok(e instanceof OpenMetricsParseError);
        assert.equal(e.message, message);
        assert.equal(e.line, Number(/line (\d+)/.exec(message)![1]));
        return true;
      },
    );
  });
}

test('raw bodies must be UTF-8; the error names the line', () => {
  const ok = parseOpenMetricsBytes(new Uint8Array(Buffer.from('a{x="\u00e9"} 1\n# EOF\n')));
  assert.deepEqual(ok, [{ name: 'a', type: 'untyped', metrics: [{ labels: L({ x: '\u00e9' }), value: 1 }] }]);
  const bad = new Uint8Array(
    Buffer.concat([Buffer.from('a 1\nb{x="'), Buffer.from([0xff]), Buffer.from('"} 1\n# EOF\n')]),
  );
  assert.throws(() => parseOpenMetricsBytes(bad), { message: E(2, 'invalid UTF-8') });
});

test('isOpenMetrics: the media type, any parameters', () => {
  assert.equal(isOpenMetrics('application/openmetrics-text; version=1.0.0; charset=utf-8'), true);
  assert.equal(isOpenMetrics('application/openmetrics-text'), true);
  assert.equal(isOpenMetrics(' Application/OpenMetrics-Text ;version=0.0.1'), true);
  assert.equal(isOpenMetrics('text/plain; version=0.0.4'), false);
  assert.equal(isOpenMetrics(undefined), false);
  assert.equal(isOpenMetrics(''), false);
});

test('endsWithOpenMetricsEof: the last line is "# EOF"', () => {
  const yes = (s: string) => endsWithOpenMetricsEof(new Uint8Array(Buffer.from(s)));
  assert.equal(yes('a 1\n# EOF\n'), true);
  assert.equal(yes('a 1\n# EOF'), true);
  assert.equal(yes('# EOF\n'), true);
  assert.equal(yes('# EOF'), true);
  assert.equal(yes('a 1\n'), false);
  assert.equal(yes('a 1\n# EOF\n\n'), false);
  assert.equal(yes('a 1\n #EOF\n'), false);
  assert.equal(yes('a 1 # EOF\n'), false);
  assert.equal(yes(''), false);
});

test('secondsToTimestamp is exact to the nanosecond', () => {
  assert.deepEqual(secondsToTimestamp('1.7957799331048286e+09'), { seconds: 1795779933, nanos: 104828600 });
  assert.deepEqual(secondsToTimestamp('123.456'), { seconds: 123, nanos: 456000000 });
  assert.deepEqual(secondsToTimestamp('0.0000000019'), { seconds: 0, nanos: 1 });
  assert.deepEqual(secondsToTimestamp('-1.5'), { seconds: -2, nanos: 500000000 });
  assert.deepEqual(secondsToTimestamp('-2'), { seconds: -2, nanos: 0 });
  assert.deepEqual(secondsToTimestamp('-0.0'), { seconds: 0, nanos: 0 });
  assert.deepEqual(secondsToTimestamp('15e-1'), { seconds: 1, nanos: 500000000 });
  assert.equal(secondsToTimestamp('NaN'), undefined);
});

// --- Real clients ----------------------------------------------------------------------------

/** An OpenMetrics registry of prom-client 15 (as test/clients creates one). */
function openMetricsRegistry(): client.Registry<client.OpenMetricsContentType> {
  const r = new client.Registry<client.OpenMetricsContentType>();
  r.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
  return r;
}

/** A prom-client 15 registry's families; prom-client renames counters of OpenMetrics registries, so each registry gets its own. */
function fill(r: client.Registry<client.RegistryContentType>): void {
  const { Counter, Gauge, Histogram, Summary } = client;
  new Counter({ name: 'jobs_total', help: 'Jobs "done" \\ so far.', labelNames: ['kind'], registers: [r] }).inc(
    { kind: 'a b' },
    3,
  );
  new Counter({ name: 'plain_counter', help: 'A counter not named _total.', registers: [r] }).inc(2);
  new Gauge({ name: 'temperature_celsius', help: 'A gauge.', registers: [r] }).set(-4.5);
  const h = new Histogram({
    name: 'latency_seconds',
    help: 'A histogram.',
    labelNames: ['m'],
    buckets: [0.1, 1],
    registers: [r],
  });
  const s = new Summary({ name: 'size_bytes', help: 'A summary.', percentiles: [0.5, 0.9], registers: [r] });
  for (const v of [0.05, 0.5, 2]) {
    h.observe({ m: 'get' }, v);
    s.observe(v);
  }
}

test('prom-client: an OpenMetrics registry parses to what the text push of a classic registry parses to', async () => {
  const om = openMetricsRegistry();
  fill(om);
  const classic = new client.Registry();
  fill(classic);
  const omText = await om.metrics();
  assert.match(omText, /# TYPE jobs counter\njobs_total\{kind="a b"\} 3\n/);
  const fromOm = parseOpenMetrics(omText);
  const fromText = parseText(await classic.metrics());
  // Counters: prom-client's OpenMetrics registry writes `plain_counter_total` where its classic
  // registry writes `plain_counter`; Prometheus scraping either one directly stores those names.
  const renamed = fromText.map((mf) => (mf.name === 'plain_counter' ? { ...mf, name: 'plain_counter_total' } : mf));
  assert.deepEqual(fromOm, renamed);
  assert.deepEqual(
    fromOm.map((mf) => [mf.name, mf.type]),
    [
      ['jobs_total', 'counter'],
      ['plain_counter_total', 'counter'],
      ['temperature_celsius', 'gauge'],
      ['latency_seconds', 'histogram'],
      ['size_bytes', 'summary'],
    ],
  );
});

test('prom-client: exemplars of an OpenMetrics registry are kept', async () => {
  const r = openMetricsRegistry();
  const c = new client.Counter({ name: 'req', help: 'h', labelNames: ['code'], registers: [r], enableExemplars: true });
  // prom-client's typings want exemplar label names among the metric's label names; it does not.
  c.inc({ labels: { code: '500' }, value: 2, exemplarLabels: { traceId: 'abc' } } as unknown as Parameters<
    typeof c.inc
  >[0]);
  const h = new client.Histogram({ name: 'lat', help: 'h', buckets: [0.1, 1], registers: [r], enableExemplars: true });
  h.observe({ labels: {}, value: 0.05, exemplarLabels: { traceId: 'def' } } as unknown as Parameters<
    typeof h.observe
  >[0]);
  const [counter, histogram] = parseOpenMetrics(await r.metrics());
  assert.equal(counter.name, 'req_total');
  const ce = counter.metrics[0].counter?.exemplar;
  assert.deepEqual(ce?.labels, L({ traceId: 'abc' }));
  assert.equal(ce?.value, 2);
  assert.ok(ce?.timestamp !== undefined && Math.abs(ce.timestamp.seconds - Date.now() / 1000) < 60);
  const be = histogram.metrics[0].histogram?.buckets[0].exemplar;
  assert.deepEqual([be?.labels, be?.value], [L({ traceId: 'def' }), 0.05]);
});

test('prom-client: the default metrics of an OpenMetrics registry parse', async () => {
  const r = openMetricsRegistry();
  client.collectDefaultMetrics({ register: r });
  const fams = parseOpenMetrics(await r.metrics());
  const types = new Map(fams.map((mf) => [mf.name, mf.type]));
  assert.equal(types.get('process_cpu_seconds_total'), 'counter');
  assert.equal(types.get('nodejs_version_info'), 'gauge');
  assert.ok(fams.length > 10);
});

/** Python prometheus_client 0.16 (Debian), openmetrics.exposition.generate_latest. */
const PYTHON_OUTPUT = `# HELP requests Requests
# TYPE requests counter
requests_total{code="200"} 3.0
requests_created{code="200"} 1.7957799331048286e+09
# HELP sent_bytes Bytes sent
# TYPE sent_bytes counter
# UNIT sent_bytes bytes
sent_bytes_total 1024.0
sent_bytes_created 1.7957799331048408e+09
# HELP temp_celsius Temp
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
temp_celsius 21.5
# HELP lat_seconds Latency
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.1"} 0.0
lat_seconds_bucket{le="1.0"} 1.0
lat_seconds_bucket{le="+Inf"} 1.0
lat_seconds_count 1.0
lat_seconds_sum 0.5
lat_seconds_created 1.795779933104888e+09
# HELP sz Sizes
# TYPE sz summary
sz_count 1.0
sz_sum 10.0
sz_created 1.7957799331049342e+09
# HELP build Build info
# TYPE build info
build_info{rev="abc",version="1.2"} 1.0
# HELP state State
# TYPE state stateset
state{state="a"} 0.0
state{state="b"} 1.0
# HELP queue Queue
# TYPE queue gaugehistogram
queue_bucket{le="1.0"} 4.0
queue_bucket{le="+Inf"} 5.0
queue_gcount 5.0
queue_gsum 7.0
# EOF
`;

test('Python prometheus_client output: every type, units and _created', () => {
  const fams = parseOpenMetrics(PYTHON_OUTPUT);
  assert.deepEqual(
    fams.map((mf) => [mf.name, mf.type, mf.unit]),
    [
      ['requests_total', 'counter', undefined],
      ['sent_bytes_total', 'counter', 'bytes'],
      ['temp_celsius', 'gauge', 'celsius'],
      ['lat_seconds', 'histogram', undefined],
      ['sz', 'summary', undefined],
      ['build_info', 'gauge', undefined],
      ['state', 'gauge', undefined],
      ['queue', 'gaugehistogram', undefined],
    ],
  );
  assert.deepEqual(fams[0].metrics[0], {
    labels: L({ code: '200' }),
    value: 3,
    counter: { value: 3, createdTimestamp: { seconds: 1795779933, nanos: 104828600 } },
  });
  assert.deepEqual(fams[4].metrics[0].summary, {
    sampleCount: 1,
    sampleSum: 10,
    quantiles: [],
    createdTimestamp: { seconds: 1795779933, nanos: 104934200 },
  });
});

// --- What the text scrape shows ---------------------------------------------------------------

test('the 0.0.4 text exposition of what an OpenMetrics push stores', () => {
  const text = parseOpenMetrics(PYTHON_OUTPUT)
    .map((mf) => familyText(mf))
    .join('');
  assert.equal(
    text,
    `# HELP requests_total Requests
# TYPE requests_total counter
requests_total{code="200"} 3
# HELP sent_bytes_total Bytes sent
# TYPE sent_bytes_total counter
sent_bytes_total 1024
# HELP temp_celsius Temp
# TYPE temp_celsius gauge
temp_celsius 21.5
# HELP lat_seconds Latency
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.1"} 0
lat_seconds_bucket{le="1"} 1
lat_seconds_bucket{le="+Inf"} 1
lat_seconds_sum 0.5
lat_seconds_count 1
# HELP sz Sizes
# TYPE sz summary
sz_sum 10
sz_count 1
# HELP build_info Build info
# TYPE build_info gauge
build_info{rev="abc",version="1.2"} 1
# HELP state State
# TYPE state gauge
state{state="a"} 0
state{state="b"} 1
# HELP queue Queue
# TYPE queue histogram
queue_bucket{le="1"} 4
queue_bucket{le="+Inf"} 5
queue_sum 7
queue_count 5
`,
  );
  // And the text format reads it back as the same series.
  const again = parseText(text);
  assert.deepEqual(
    again.map((mf) => mf.name),
    ['requests_total', 'sent_bytes_total', 'temp_celsius', 'lat_seconds', 'sz', 'build_info', 'state', 'queue'],
  );
});

test('stored through the store: scraped like a text push; timestamps are refused as the reference refuses them', async () => {
  const store = new MemoryStore();
  const cache = new ScrapeCache(store);
  const ok = await store.write({
    labels: { job: 'om' },
    families: parseOpenMetrics('# TYPE x counter\nx_total{a="b"} 2\nx_created{a="b"} 5\n# EOF\n'),
    replace: true,
    check: true,
    timestampMs: 0,
  });
  assert.deepEqual(ok, { ok: true });
  const textPush = await store.write({
    labels: { job: 'text' },
    families: parseText('# TYPE x_total counter\nx_total{a="c"} 1\n'),
    replace: true,
    check: true,
    timestampMs: 0,
  });
  assert.deepEqual(textPush, { ok: true }, 'an OpenMetrics push and a text push of the same counter are consistent');
  const scrape = cache.render([]).toString();
  assert.match(
    scrape,
    /# TYPE x_total counter\nx_total\{a="b",instance="",job="om"\} 2\nx_total\{a="c",instance="",job="text"\} 1\n/,
  );
  const refused = await store.write({
    labels: { job: 'ts' },
    families: parseOpenMetrics('a 1 1700000000\n# EOF\n'),
    replace: true,
    check: true,
    timestampMs: 0,
  });
  assert.deepEqual(refused, { ok: false, error: 'pushed metrics must not have timestamps' });
});
