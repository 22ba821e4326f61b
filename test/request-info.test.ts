import t from 'tap';
import { queryModel, requestModel, requestRegions } from '../src/proxy/request-info.js';

const model = (body: string, type = 'application/json') => requestModel(type, Buffer.from(body));

t.test('the model of a JSON body, read as upstream parsers read it', async (t) => {
  t.equal(model('{"model":"gpt-4o-mini","messages":[]}'), 'gpt-4o-mini');
  t.equal(model('{ "model" : "llama-3.1-70b" }'), 'llama-3.1-70b', 'whitespace');
  t.equal(model('{"messages":[{"role":"user","content":"use \\"model\\": \\"evil\\""}],"model":"real"}'), 'real', 'a quoted "model" inside content is not the key');
  t.equal(model('{"tools":[{"model":"nested"}],"model":"top"}'), 'top', 'a nested key is not the top-level one');
  t.equal(model('{"tools":[{"model":"nested"}]}'), undefined, 'only a nested key: no model');
  t.equal(model('{"model":"caf\\u00e9"}'), 'café', 'escapes are decoded');
  t.equal(model('{"model":""}'), undefined, 'empty model: undetermined');
  t.equal(model('{"model":42}'), undefined, 'not a string: undetermined');
  t.equal(model('{"model":"x"'), undefined, 'a truncated body: undetermined');
  t.equal(model('not json "model"'), undefined, 'malformed');
  t.equal(model('{"model":"m"}', 'text/plain'), 'm', 'text/plain with a JSON body: upstreams parse it as JSON');
  t.equal(requestModel(undefined, Buffer.from('{"model":"m"}')), 'm', 'no content type: read by the bytes');
  t.equal(model('{"model":"gpt-4o-mini","model":"M"}'), 'M', 'the last duplicate wins');
  t.equal(model('{"model":"日本語モデル"}'), '日本語モデル', 'utf-8');
});

t.test('allowed regions from the header', async (t) => {
  t.same([...(requestRegions('eu-west-1, europe-west4,,') ?? [])], ['eu-west-1', 'europe-west4']);
  t.equal(requestRegions(' , '), undefined);
  t.equal(requestRegions(undefined), undefined);
  t.same([...(requestRegions(['a', 'b,c']) ?? [])], ['a', 'b', 'c']);
});

t.test('the model of a request target (WebSocket upgrades name it in the query)', async (t) => {
  t.same(queryModel('/v1/realtime?model=gpt-4o-realtime'), { kind: 'model', model: 'gpt-4o-realtime' });
  t.same(queryModel('/v1/realtime?x=1&mod%65l=M'), { kind: 'model', model: 'M' }, 'an escaped name');
  t.same(queryModel('/v1/realtime'), { kind: 'absent' });
  t.equal(queryModel('/v1/realtime?model=a&model=M').kind, 'undetermined', 'duplicates');
  t.equal(queryModel('/v1/realtime?model=a;model=M').kind, 'undetermined', 'a duplicate after ;');
});
