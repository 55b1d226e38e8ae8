/* report.c: OUT/report.html, one self-contained page to look at the decisions.
 *
 * The page is static HTML with the data inlined as one JSON document and a small
 * inline script that draws everything on <canvas> and <svg>: no network, no external
 * script or style, so it opens from a file anywhere. It shows the layer x module
 * heatmaps of bits and of composite scores, a histogram per raw metric, the Spearman
 * matrix between metrics and each metric's Spearman correlation with the measured
 * 4-bit error (beside the paper's figures), the size-versus-damage curve for budgets
 * 2.5..8 bits per weight with every uniform (bits, group) marked, the bits
 * distribution, and a sortable, filterable table of every tensor. The data is
 * serialized here; the statistics (ranks, histograms) are computed by the script,
 * which stays fast on a few thousand tensors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_writer.h"
#include "coordinator/outputs/outputs.h"

#define NCURVE 23 /* 2.5, 2.75, ..., 8 */
#define WRITEBACK_TENSORS 20000 /* ~250 bytes each: every ~5 MB (outputs.h) */

static const char k_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>swan report</title>\n<style>\n"
    "body{font:14px/1.4 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:16px 24px;color:#222}\n"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px;border-bottom:1px solid #ddd}\n"
    ".sub{color:#666}.grid{display:flex;flex-wrap:wrap;gap:18px}.card{border:1px solid #e3e3e3;border-radius:6px;padding:8px}\n"
    "table{border-collapse:collapse;font-size:12px}td,th{padding:2px 6px;border-bottom:1px solid #eee;text-align:right}\n"
    "th{cursor:pointer;background:#f6f6f6;position:sticky;top:0}td.l,th.l{text-align:left}\n"
    ".scroll{max-height:520px;overflow:auto;border:1px solid #e3e3e3}.legend{font-size:11px;color:#555}\n"
    "canvas{display:block}\n</style></head><body>\n";

/* The script: reads the JSON in #swan-data, draws, and sets data-ready on <body>
 * (the browser test checks it). Plain ES5-ish code, no library. */
static const char k_script[] =
    "<script>\n"
    "(function(){\n"
    "'use strict';\n"
    "var D=JSON.parse(document.getElementById('swan-data').textContent);\n"
    "function el(t,a,p){var e=document.createElement(t);for(var k in a)if(k==='text')e.textContent=a[k];else e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}\n"
    "function fmt(x,d){if(x===null||x===undefined||isNaN(x))return '';var a=Math.abs(x);if(a!==0&&(a<1e-3||a>=1e6))return x.toExponential(2);return x.toFixed(d===undefined?3:d);}\n"
    "var T=D.tensors;\n"
    "/* summary */\n"
    "var s=D.summary;document.getElementById('summary').textContent=D.model+': '+T.length+' tensors, policy '+D.policy+', '+D.normalize+' normalization; MLX size '+fmt(s.mlx_bytes/1e9,3)+' GB, '+fmt(s.effective_bpw,3)+' bits per weight (scales included); expected damage '+fmt(s.expected_damage)+(D.error_source?'; per-width errors '+D.error_source:'');\n"
    "/* colors */\n"
    "var BITC={2:'#d73027',3:'#fc8d59',4:'#fee08b',5:'#d9ef8b',6:'#91cf60',8:'#1a9850',16:'#4575b4'};\n"
    "function ramp(v){v=Math.max(0,Math.min(1,v));var r=Math.round(255*Math.min(1,2*v)),g=Math.round(255*Math.min(1,2*(1-v)));return 'rgb('+r+','+g+',60)';}\n"
    "/* heatmaps: layer x module */\n"
    "var mods=[],modIx={},maxL=-1;T.forEach(function(t){if(!(t.module in modIx)){modIx[t.module]=mods.length;mods.push(t.module);}if(t.layer>maxL)maxL=t.layer;});\n"
    "function heat(id,val,color,title){var host=document.getElementById(id);el('div',{text:title},host);var cw=Math.max(8,Math.min(24,Math.floor(900/Math.max(1,maxL+2)))),ch=14,left=220;\n"
    " var c=el('canvas',{width:left+cw*(maxL+2),height:ch*mods.length+20},host);var g=c.getContext('2d');g.font='11px sans-serif';\n"
    " mods.forEach(function(m,i){g.fillStyle='#333';g.fillText(m.length>34?m.slice(0,33)+'\\u2026':m,2,ch*i+11);});\n"
    " var cell={};T.forEach(function(t){var k=t.layer+'|'+t.module;var v=val(t);if(v===null)return;if(!(k in cell)||v>cell[k])cell[k]=v;});\n"
    " for(var k in cell){var p=k.split('|'),L=+p[0],m=modIx[p.slice(1).join('|')];g.fillStyle=color(cell[k]);g.fillRect(left+cw*(L+1),ch*m,cw-1,ch-1);}\n"
    " g.fillStyle='#333';for(var L=0;L<=maxL;L+=Math.max(1,Math.ceil((maxL+1)/20)))g.fillText(String(L),left+cw*(L+1),ch*mods.length+14);g.fillText('-',left,ch*mods.length+14);}\n"
    "heat('heat-bits',function(t){return t.bits;},function(b){return BITC[b]||'#999';},'bits (widest in the cell; column - = outside layers)');\n"
    "heat('heat-comp',function(t){return t.analyzed?t.composite:null;},ramp,'composite score (0 green .. 1 red)');\n"
    "var lg=document.getElementById('legend');Object.keys(BITC).forEach(function(b){var sp=el('span',{},lg);sp.style.cssText='display:inline-block;width:12px;height:12px;margin:0 3px 0 10px;background:'+BITC[b];el('span',{text:b+' bits'},lg);});\n"
    "/* histograms */\n"
    "var M=[['svd','spectral concentration'],['kurt','excess kurtosis'],['out','output noise amplification'],['err','4-bit RTN error (M4)']];\n"
    "var A=T.filter(function(t){return t.analyzed;});\n"
    "M.forEach(function(m){var host=el('div',{'class':'card'},document.getElementById('hists'));el('div',{text:m[1]},host);var v=A.map(function(t){return t[m[0]];}).filter(function(x){return isFinite(x);});\n"
    " var c=el('canvas',{width:300,height:150},host),g=c.getContext('2d');if(!v.length)return;var lo=Math.min.apply(null,v),hi=Math.max.apply(null,v);if(hi<=lo)hi=lo+1e-12;var nb=30,h=new Array(nb).fill(0);\n"
    " v.forEach(function(x){h[Math.min(nb-1,Math.floor((x-lo)/(hi-lo)*nb))]++;});var mx=Math.max.apply(null,h);g.fillStyle='#4575b4';h.forEach(function(n,i){var bh=120*n/mx;g.fillRect(5+i*9.6,125-bh,8.6,bh);});\n"
    " g.fillStyle='#333';g.font='11px sans-serif';g.fillText(fmt(lo),2,142);g.textAlign='right';g.fillText(fmt(hi),298,142);});\n"
    "/* Spearman */\n"
    "function ranks(a){var ix=a.map(function(x,i){return i;});ix.sort(function(p,q){return a[p]-a[q];});var r=new Array(a.length),i=0;while(i<ix.length){var j=i;while(j+1<ix.length&&a[ix[j+1]]===a[ix[i]])j++;for(var k=i;k<=j;k++)r[ix[k]]=(i+j)/2;i=j+1;}return r;}\n"
    "function pearson(x,y){var n=x.length;if(n<3)return NaN;var mx=0,my=0;for(var i=0;i<n;i++){mx+=x[i];my+=y[i];}mx/=n;my/=n;var sxy=0,sx=0,sy=0;for(i=0;i<n;i++){var a=x[i]-mx,b=y[i]-my;sxy+=a*b;sx+=a*a;sy+=b*b;}return sx>0&&sy>0?sxy/Math.sqrt(sx*sy):NaN;}\n"
    "function spearman(x,y){return pearson(ranks(x),ranks(y));}\n"
    "var cols=M.map(function(m){return A.map(function(t){return t[m[0]];});}),e4=A.map(function(t){return t.e4;});\n"
    "var st=el('table',{},document.getElementById('spearman')),hr=el('tr',{},st);el('th',{'class':'l',text:''},hr);M.forEach(function(m){el('th',{text:m[0]},hr);});el('th',{text:'vs 4-bit error'},hr);el('th',{text:'paper'},hr);\n"
    "var PAPER={kurt:'0.80 (kurtosis vs error)'};\n"
    "M.forEach(function(m,i){var r=el('tr',{},st);el('td',{'class':'l',text:m[1]},r);M.forEach(function(n,j){var v=spearman(cols[i],cols[j]);var td=el('td',{text:fmt(v,2)},r);if(i!==j)td.style.background=Math.abs(v)>0.38?'#fde0c5':'#e5f5e0';});\n"
    " el('td',{text:fmt(spearman(cols[i],e4),2)},r);el('td',{text:PAPER[m[0]]||'',style:'text-align:left'},r);});\n"
    "el('div',{'class':'legend',text:'Paper: |Spearman| between metrics at most 0.38 (cells above that are shaded orange); kurtosis vs quantization error 0.80. 4-bit error here: '+D.e4_source+'.'},document.getElementById('spearman'));\n"
    "/* size vs damage */\n"
    "(function(){var host=document.getElementById('curve');var W=620,H=320,L=60,B=40;var NS='http://www.w3.org/2000/svg';var svg=document.createElementNS(NS,'svg');svg.setAttribute('width',W);svg.setAttribute('height',H);host.appendChild(svg);\n"
    " var pts=D.curve.filter(function(p){return p.damage!==null&&p.damage>0;}),un=D.uniform.filter(function(p){return p.damage!==null&&p.damage>0;});var all=pts.concat(un);if(!all.length){el('div',{text:'no point in range'},host);return;}\n"
    " var x0=Math.min.apply(null,all.map(function(p){return p.bpw;})),x1=Math.max.apply(null,all.map(function(p){return p.bpw;}));var ly=all.map(function(p){return Math.log10(p.damage);}),y0=Math.min.apply(null,ly),y1=Math.max.apply(null,ly);if(x1<=x0)x1=x0+1;if(y1<=y0)y1=y0+1;\n"
    " function X(v){return L+(W-L-10)*(v-x0)/(x1-x0);}function Y(v){return H-B-(H-B-10)*(Math.log10(v)-y0)/(y1-y0);}\n"
    " function add(t,a){var e=document.createElementNS(NS,t);for(var k in a)e.setAttribute(k,a[k]);svg.appendChild(e);return e;}\n"
    " add('line',{x1:L,y1:H-B,x2:W-10,y2:H-B,stroke:'#888'});add('line',{x1:L,y1:10,x2:L,y2:H-B,stroke:'#888'});\n"
    " var t=add('text',{x:W/2,y:H-6,'font-size':12,'text-anchor':'middle'});t.textContent='bits per weight (MLX, scales included)';t=add('text',{x:12,y:H/2,'font-size':12,transform:'rotate(-90 12 '+H/2+')','text-anchor':'middle'});t.textContent='expected damage (log)';\n"
    " for(var v=Math.ceil(x0);v<=x1;v++){t=add('text',{x:X(v),y:H-B+14,'font-size':11,'text-anchor':'middle'});t.textContent=v;}\n"
    " if(pts.length)add('polyline',{points:pts.map(function(p){return X(p.bpw)+','+Y(p.damage);}).join(' '),fill:'none',stroke:'#d73027','stroke-width':2});\n"
    " pts.forEach(function(p){add('circle',{cx:X(p.bpw),cy:Y(p.damage),r:3,fill:'#d73027'});});\n"
    " un.forEach(function(p){var c=add('rect',{x:X(p.bpw)-3,y:Y(p.damage)-3,width:6,height:6,fill:'#4575b4'});var tt=document.createElementNS(NS,'title');tt.textContent=p.bits+'-bit g'+p.group+': '+fmt(p.bpw,2)+' bpw';c.appendChild(tt);if(p.group===64){var l=add('text',{x:X(p.bpw)+5,y:Y(p.damage)-4,'font-size':10,fill:'#4575b4'});l.textContent=p.bits+'b';}});\n"
    " el('div',{'class':'legend',text:'red: swan budget allocation (2.5..8 bpw); blue squares: every matrix at one uniform (bits, group size), labelled at group 64'},host);})();\n"
    "/* bits distribution */\n"
    "(function(){var host=document.getElementById('dist'),c=el('canvas',{width:620,height:60+22*Object.keys(s.bits).length},host),g=c.getContext('2d');g.font='12px sans-serif';var i=0;\n"
    " Object.keys(s.bits).sort(function(a,b){return a-b;}).forEach(function(b){var p=s.bits[b];g.fillStyle='#333';g.fillText(b+' bits',4,20+22*i);g.fillStyle=BITC[b]||'#999';g.fillRect(70,8+22*i,4.5*p.percentage,16);g.fillStyle='#333';g.fillText(fmt(p.percentage,1)+'% of params, '+p.tensors+' tensors',76+4.5*p.percentage,20+22*i);i++;});})();\n"
    "/* table */\n"
    "var COLS=[['name','tensor','l'],['layer','layer'],['module','module','l'],['params','params'],['bits','bits'],['group','group'],['reason','reason','l'],['composite','composite'],['svd','svd'],['kurt','kurtosis'],['out','output'],['err','M4 error'],['e4','4-bit error'],['nrmse','expected error']];\n"
    "var tbl=el('table',{},document.getElementById('table')),thead=el('tr',{},tbl),tbody=el('tbody',{},tbl),sortKey='name',sortDir=1,filt='';\n"
    "COLS.forEach(function(c){var th=el('th',{'class':c[2]||'',text:c[1]},thead);th.addEventListener('click',function(){if(sortKey===c[0])sortDir=-sortDir;else{sortKey=c[0];sortDir=1;}draw();});});\n"
    "function draw(){var rows=T.filter(function(t){return !filt||t.name.toLowerCase().indexOf(filt)>=0||t.reason.indexOf(filt)>=0;});\n"
    " rows.sort(function(a,b){var x=a[sortKey],y=b[sortKey];if(x===y)return 0;if(x===null||x===undefined)return 1;if(y===null||y===undefined)return -1;return (x<y?-1:1)*sortDir;});\n"
    " var html=[];rows.forEach(function(t){html.push('<tr>'+COLS.map(function(c){var v=t[c[0]];var s=typeof v==='number'?(c[0]==='params'||c[0]==='layer'||c[0]==='bits'||c[0]==='group'?String(v):fmt(v)):(v===null||v===undefined?'':String(v).replace(/&/g,'&amp;').replace(/</g,'&lt;'));return '<td class=\"'+(c[2]||'')+'\">'+s+'</td>';}).join('')+'</tr>');});\n"
    " tbody.innerHTML=html.join('');document.getElementById('count').textContent=rows.length+' of '+T.length+' tensors';}\n"
    "document.getElementById('filter').addEventListener('input',function(e){filt=e.target.value.toLowerCase();draw();});\n"
    "draw();\n"
    "document.body.setAttribute('data-ready','1');\n"
    "})();\n"
    "</script>\n";

static const char k_body[] =
    "<h1>swan report</h1><div class=\"sub\" id=\"summary\"></div>\n"
    "<h2>Bits by layer and module</h2><div id=\"legend\" class=\"legend\"></div><div class=\"card\" id=\"heat-bits\"></div>\n"
    "<h2>Composite score by layer and module</h2><div class=\"card\" id=\"heat-comp\"></div>\n"
    "<h2>Raw metrics</h2><div class=\"grid\" id=\"hists\"></div>\n"
    "<h2>Spearman correlations</h2><div id=\"spearman\"></div>\n"
    "<h2>Size versus expected damage</h2><div class=\"card\" id=\"curve\"></div>\n"
    "<h2>Bits distribution</h2><div id=\"dist\"></div>\n"
    "<h2>Tensors</h2><div>filter: <input id=\"filter\" size=\"40\" placeholder=\"part of a name or reason\"> "
    "<span id=\"count\" class=\"legend\"></span> (click a column to sort)</div>\n"
    "<div class=\"scroll\" id=\"table\"></div>\n";

/* "model.layers.12.mlp.experts.3.up_proj.weight" -> layer 12, module
 * "mlp.experts.*.up_proj"; tensors outside layers: layer -1, their name. */
static void layer_module(const char *name, long *layer, char *module, size_t size) {
    const char *p = strstr(name, "layers.");
    if (!p) p = strstr(name, "blk.");
    *layer = -1;
    const char *rest = name;
    if (p) {
        const char *d = p + (p[0] == 'l' ? 7 : 4);
        char *end;
        long v = strtol(d, &end, 10);
        if (end > d && *end == '.') {
            *layer = v;
            rest = end + 1;
        }
    }
    size_t n = 0;
    for (const char *q = rest; *q && n + 2 < size; q++) {
        /* expert index -> '*' */
        if (q > rest && q[-1] == '.' && *q >= '0' && *q <= '9' && n >= 8 &&
            strncmp(module + n - 8, "experts.", 8) == 0) {
            while (q[1] >= '0' && q[1] <= '9') q++;
            module[n++] = '*';
            continue;
        }
        module[n++] = *q;
    }
    module[n] = '\0';
    if (n > 7 && strcmp(module + n - 7, ".weight") == 0) module[n - 7] = '\0';
}

static void key_num(swan_jw *w, const char *k, double v) {
    swan_jw_key(w, k);
    if (isfinite(v)) swan_jw_double(w, v);
    else swan_jw_null(w);
}

static bool measured_table(const swan_raw_metrics *r) {
    for (int i = 0; i < SWAN_MLX_NBITS; i++)
        for (int j = 0; j < SWAN_MLX_NGROUPS; j++)
            if (r->mlx_nrmse[i][j] > 0) return true;
    return false;
}

static void write_data(swan_jw *w, const swan_output_ctx *c, const swan_curve_point *curve,
                       const double *targets, const swan_curve_point *uni) {
    const swan_reduction *red = c->red;
    swan_jw_object_begin(w);
    swan_jw_key_string(w, "model", c->info->model_name);
    swan_jw_key_string(w, "policy", swan_policy_alloc_name(c->policy));
    swan_jw_key_string(w, "normalize", c->policy->norm == SWAN_NORM_ADAPTIVE ? "adaptive" : "fixed");
    bool any_measured = false;
    for (size_t i = 0; i < c->plan->nrecs && !any_measured; i++)
        any_measured = c->plan->recs[i].raw && measured_table(c->plan->recs[i].raw);
    swan_jw_key_string(w, "e4_source", any_measured ? "MLX affine 4-bit, group 64, measured"
                                                    : "M4 (4-bit round-to-nearest, group 128)");
    swan_jw_key_string(w, "error_source", red->errors_estimated ? "estimated from M4" : "measured");
    swan_jw_key(w, "summary");
    swan_jw_object_begin(w);
    swan_jw_key_double(w, "mlx_bytes", red->mlx_bytes);
    swan_jw_key_double(w, "effective_bpw", red->effective_bpw);
    swan_jw_key_double(w, "expected_damage", red->expected_damage);
    swan_jw_key(w, "bits");
    swan_output_write_widths(w, red, false);
    swan_jw_object_end(w);
    swan_jw_key(w, "curve");
    swan_jw_array_begin(w);
    for (size_t k = 0; k < NCURVE; k++) {
        swan_jw_object_begin(w);
        swan_jw_key_double(w, "target", targets[k]);
        key_num(w, "bpw", curve[k].bpw);
        key_num(w, "damage", curve[k].damage);
        swan_jw_object_end(w);
    }
    swan_jw_array_end(w);
    swan_jw_key(w, "uniform");
    swan_jw_array_begin(w);
    for (size_t k = 0; k < SWAN_MLX_NBITS * SWAN_MLX_NGROUPS; k++) {
        swan_jw_object_begin(w);
        swan_jw_key_uint(w, "bits", (uint64_t)uni[k].bits);
        swan_jw_key_uint(w, "group", (uint64_t)uni[k].group);
        key_num(w, "bpw", uni[k].bpw);
        key_num(w, "damage", uni[k].damage);
        swan_jw_object_end(w);
    }
    swan_jw_array_end(w);
    swan_jw_key(w, "tensors");
    swan_jw_array_begin(w);
    for (size_t i = 0; i < c->ck->ntensors; i++) {
        const swan_tensor *t = &c->ck->tensors[i];
        const swan_tensor_rec *r = &c->plan->recs[i];
        const swan_decision *d = &red->d[i];
        long layer;
        char module[256];
        layer_module(t->name, &layer, module, sizeof module);
        swan_jw_object_begin(w);
        swan_jw_key_string(w, "name", t->name);
        swan_jw_key(w, "layer");
        swan_jw_int(w, layer);
        swan_jw_key_string(w, "module", module);
        swan_jw_key_uint(w, "params", t->nelem);
        swan_jw_key(w, "bits");
        swan_jw_int(w, d->bits);
        if (d->bits < 16) {
            swan_jw_key(w, "group");
            swan_jw_int(w, d->group_size);
        }
        swan_jw_key_string(w, "reason", d->reason);
        bool analyzed = r->raw && r->raw->nonfinite == 0 && r->kind == SWAN_KIND_MATRIX;
        swan_jw_key(w, "analyzed");
        swan_jw_bool(w, analyzed);
        if (analyzed) {
            key_num(w, "composite", d->composite);
            key_num(w, "svd", r->raw->svd_concentration);
            key_num(w, "kurt", r->raw->kurtosis);
            key_num(w, "out", r->raw->output_delta);
            key_num(w, "err", r->raw->rtn_nrmse);
            double e4 = r->raw->rtn_nrmse;
            if (any_measured) e4 = r->raw->mlx_nrmse[2][1] >= 0 ? r->raw->mlx_nrmse[2][1] : NAN;
            key_num(w, "e4", e4);
            if (d->bits < 16) key_num(w, "nrmse", d->nrmse);
        }
        swan_jw_object_end(w);
        if (i % WRITEBACK_TENSORS == WRITEBACK_TENSORS - 1) swan_output_writeback(w->f);
    }
    swan_jw_array_end(w);
    swan_jw_object_end(w);
}

int swan_report_write(FILE *f, const swan_output_ctx *c, swan_error *err) {
    double targets[NCURVE];
    for (int k = 0; k < NCURVE; k++) targets[k] = 2.5 + 0.25 * k;
    swan_curve_point curve[NCURVE], uni[SWAN_MLX_NBITS * SWAN_MLX_NGROUPS];
    if (swan_reduce_curve(c->ck, c->plan, c->policy, c->red, targets, NCURVE, curve, uni, err)) return -1;
    fputs(k_head, f);
    fputs(k_body, f);
    fputs("<script type=\"application/json\" id=\"swan-data\">", f);
    /* The JSON goes into a <script> element: "</" must not appear in it, so the
     * writer escapes it as "<\/" (the same JSON string); it can only occur in strings. */
    swan_jw w;
    swan_jw_init(&w, f, 0);
    w.double_digits = 6;
    w.html_safe = true;
    write_data(&w, c, curve, targets, uni);
    if (swan_jw_error(&w)) return swan_error_set(err, "write failed");
    fputs("</script>\n", f);
    fputs(k_script, f);
    fputs("</body></html>\n", f);
    return ferror(f) ? swan_error_set(err, "write failed") : 0;
}
